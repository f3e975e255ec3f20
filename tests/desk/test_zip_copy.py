"""Raw copy of package members: the copy reads back with Python's zipfile (CRC checked by
``testzip``), same content, same compressed bytes. That LibreOffice opens a rewritten workbook is
checked by the writer's tests."""

import os
import zipfile

from xl_addin.adapters.workbook.zip_copy import copy_member_raw


def _make(path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr("[Content_Types].xml", b"<Types/>" * 50)
        z.writestr("xl/sharedStrings.xml", "<sst>收件人地址</sst>".encode() * 2000)
        info = zipfile.ZipInfo("xl/media/image1.png")
        info.compress_type = zipfile.ZIP_STORED
        z.writestr(info, os.urandom(5000))
        z.writestr("名字/中文.xml", b"<x/>")


def test_raw_copy_keeps_content_and_compressed_bytes(tmp_path):
    src, dst = tmp_path / "a.zip", tmp_path / "b.zip"
    _make(src)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        zout.writestr("first.xml", b"<written-normally/>")  # mixed with ordinary writes
        for info in zin.infolist():
            copy_member_raw(zin, zout, info)
        zout.writestr("last.xml", b"<written-normally/>")
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst) as b:
        assert b.testzip() is None
        assert b.namelist() == ["first.xml", *a.namelist(), "last.xml"]
        for info in a.infolist():
            got = b.getinfo(info.filename)
            assert b.read(info.filename) == a.read(info.filename)
            assert (got.CRC, got.compress_size, got.compress_type) == (info.CRC, info.compress_size, info.compress_type)
    assert src.read_bytes().count(b"PK\x03\x04") + 2 == dst.read_bytes().count(b"PK\x03\x04")
