"""Copy a package member from one zip to another as its compressed bytes (no inflate, no deflate).

An unchanged part (shared strings, styles, other sheets, drawings, VBA) keeps its exact compressed
stream and CRC; only the local header is written anew. zipfile has no public call for this, so the
header is written the way ``ZipFile.writestr`` writes one (``ZipInfo.FileHeader``) and the member is
registered in the central directory like any other. Encrypted or unusual members take the ordinary
inflate-and-deflate copy.
"""

from __future__ import annotations

import shutil
import struct
import zipfile

CHUNK = 4 * 1024 * 1024
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader
_RAW_TYPES = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def copy_member_raw(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    out.compress_type = info.compress_type
    out.external_attr = info.external_attr
    if info.flag_bits & 0x1 or info.compress_type not in _RAW_TYPES or zout._writing:  # type: ignore[attr-defined]
        with zin.open(info) as src, zout.open(out, "w", force_zip64=info.file_size > 2**31) as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        return
    out.CRC = info.CRC
    out.compress_size = info.compress_size
    out.file_size = info.file_size
    out.flag_bits = info.flag_bits & 0x800  # keep only "name is UTF-8"; no data descriptor follows
    fin, fout = zin.fp, zout.fp
    assert fin is not None and fout is not None
    with zout._lock:  # type: ignore[attr-defined]
        fin.seek(info.header_offset)
        head = fin.read(_LOCAL_HEADER.size)
        if len(head) != _LOCAL_HEADER.size or head[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header of {info.filename}")
        fields = _LOCAL_HEADER.unpack(head)
        fin.seek(fields[zipfile._FH_FILENAME_LENGTH] + fields[zipfile._FH_EXTRA_FIELD_LENGTH], 1)  # type: ignore[attr-defined]
        zout._writecheck(out)  # type: ignore[attr-defined]
        if zout._seekable:  # type: ignore[attr-defined]
            fout.seek(zout.start_dir)  # type: ignore[attr-defined]
        out.header_offset = fout.tell()
        fout.write(out.FileHeader())
        left = info.compress_size
        while left > 0:
            block = fin.read(min(CHUNK, left))
            if not block:
                raise EOFError(f"{info.filename} ends early")
            fout.write(block)
            left -= len(block)
        zout.filelist.append(out)
        zout.NameToInfo[out.filename] = out
        zout.start_dir = fout.tell()  # type: ignore[attr-defined]
        zout._didModify = True  # type: ignore[attr-defined]
