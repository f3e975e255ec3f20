"""Workbook files on disk: refuse what we cannot read safely, replace atomically, keep backups.

Why here and not in the reader/writer: every path into a workbook (read, write, doctor) must
answer the same questions first — is it really an .xlsx, is it open in Excel — and every write
must end the same way: temp file beside the original, fsync, backup, ``os.replace``.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import time
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

from xl_addin.errors import WorkbookError, WorkbookLocked
from xl_addin.processes import pid_alive

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
BACKUPS_KEPT = 10
# A sane ceiling for the unpacked size of one package: far above a 1,000,000-row sheet.
MAX_UNPACKED_BYTES = 8 * 1024**3
TEMP_MARK = ".xl-tmp"

_NS_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_DOCREL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_OFFICE_DOC = "/officeDocument"


def _fail(path: Path, message: str, hint: str) -> WorkbookError:
    return WorkbookError(message, hint, path=str(path))


def check_workbook_file(path: str | os.PathLike) -> Path:
    """Raise ``WorkbookError`` (exit 2) with one line naming the file unless it is a readable .xlsx/.xlsm."""
    p = Path(path)
    if not p.exists():
        raise _fail(p, "文件不存在", "请检查路径和文件名")
    if p.is_dir():
        raise _fail(p, "这是一个文件夹，不是工作簿", "请给出 .xlsx 文件的路径")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        raise _fail(p, "这是 CSV/文本文件，不是 Excel 工作簿",
                    "订单导入请用 xl-logistics import；或在 Excel 里另存为 .xlsx")
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head.startswith(OLE2_MAGIC):
        if _is_encrypted_ole(p):
            raise _fail(p, "工作簿设置了打开密码（已加密），无法读取",
                        "请在 Excel 里去掉密码（文件→信息→保护工作簿→用密码进行加密，清空）后另存为 .xlsx")
        raise _fail(p, "这是旧版 Excel 97-2003 (.xls) 格式", "请在 Excel 里另存为 .xlsx 后再试")
    if suffix == ".xls":
        raise _fail(p, "扩展名是 .xls 但内容不是旧版工作簿", "请在 Excel 里另存为 .xlsx 后再试")
    if not any(head.startswith(m) for m in ZIP_MAGICS):
        if not head:
            raise _fail(p, "文件是空的（0 字节）", "请从备份恢复或重新导出")
        raise _fail(p, "不是 Excel 工作簿（既不是 .xlsx 也不是 .xls）", "请确认文件类型，在 Excel 里另存为 .xlsx")
    try:
        with zipfile.ZipFile(p) as zf:
            _check_package(p, zf)
    except (zipfile.BadZipFile, NotImplementedError) as exc:  # NotImplementedError: an unknown compression method
        raise _fail(p, f"文件已损坏，无法解压（{exc}）", "请从备份恢复，或在 Excel 里打开修复后另存为 .xlsx") from None
    except (OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise _fail(p, f"文件已损坏或无法读取（{exc}）", "请从备份恢复，或在 Excel 里打开修复后另存为 .xlsx") from None
    except zlib.error:
        raise _fail(p, "工作簿已损坏：有部件无法解压", "请从备份恢复，或在 Excel 里打开（Excel 会提示修复）后另存为 .xlsx") from None
    return p


def _is_encrypted_ole(p: Path) -> bool:
    """An encrypted .xlsx is an OLE2 compound file holding EncryptionInfo/EncryptedPackage streams."""
    with open(p, "rb") as fh:
        data = fh.read(4 * 1024 * 1024)
    return any(name.encode("utf-16-le") in data for name in ("EncryptedPackage", "EncryptionInfo"))


def _check_package(p: Path, zf: zipfile.ZipFile) -> None:
    from xl_addin.adapters.workbook.limits import check_package

    infos = zf.infolist()
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise _fail(p, "工作簿解压后过大（疑似压缩炸弹），已拒绝", "请确认文件来源，或在 Excel 里另存为 .xlsx")
    check_package(p, zf)  # part sizes and compression ratios, from the zip directory alone
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names:
        raise _fail(p, "压缩包里没有 Office 内容（不是 .xlsx 工作簿）", "请确认文件类型，在 Excel 里另存为 .xlsx")
    for info in infos:
        if info.filename.endswith((".xml", ".rels", ".vml")) and _has_dtd(zf, info):
            raise _fail(p, f"工作簿部件 {info.filename} 含有 DOCTYPE/ENTITY 声明（可能是 XML 炸弹），已拒绝",
                        "请确认文件来源，在 Excel 里打开后另存为新的 .xlsx")
    try:
        workbook_part(zf)
    except KeyError:
        raise _fail(p, "压缩包里没有工作簿部件（可能是 Word/PowerPoint 文件或损坏的 .xlsx）",
                    "请确认文件类型，在 Excel 里另存为 .xlsx") from None


_PROLOG_END = re.compile(rb"<[A-Za-z_]")


def _has_dtd(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """A DTD (and so any entity) can only sit in the prolog: read until the root element starts."""
    with zf.open(info) as fh:
        head = fh.read(65536)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    m = _PROLOG_END.search(head)
    prolog = head[: m.start()] if m else head
    return b"<!DOCTYPE" in prolog.upper() or b"<!ENTITY" in prolog.upper()


# ---------------------------------------------------------------- package parts

def parse_xml(data: bytes):
    """Parse a (small) package part with defusedxml: DTDs and entities are refused."""
    from defusedxml import ElementTree as DET

    return DET.fromstring(data, forbid_dtd=True)


def workbook_part(zf: zipfile.ZipFile) -> str:
    """The workbook part's name, found via the package relationships (``xl/workbook.xml`` in practice)."""
    names = set(zf.namelist())
    if "_rels/.rels" in names:
        root = parse_xml(zf.read("_rels/.rels"))
        for rel in root.iter(f"{{{_NS_REL}}}Relationship"):
            if rel.get("Type", "").endswith(_OFFICE_DOC):
                target = rel.get("Target", "").lstrip("/")
                if target in names:
                    return target
    if "xl/workbook.xml" in names:
        return "xl/workbook.xml"
    raise KeyError("workbook")


def rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve_target(part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(part), target))


def part_relations(zf: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(Id, Type, resolved target part) of each internal relationship of ``part``."""
    rels = rels_of(part)
    if rels not in zf.namelist():
        return []
    out = []
    for rel in parse_xml(zf.read(rels)).iter(f"{{{_NS_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        out.append((rel.get("Id", ""), rel.get("Type", ""), resolve_target(part, rel.get("Target", ""))))
    return out


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet name → part name, in workbook order (chart sheets are left out)."""
    wb = workbook_part(zf)
    targets = {rid: target for rid, typ, target in part_relations(zf, wb) if typ.endswith("/worksheet")}
    out: dict[str, str] = {}
    for sheet in parse_xml(zf.read(wb)).iter(f"{{{_NS_MAIN}}}sheet"):
        rid = sheet.get(f"{{{_NS_DOCREL}}}id")
        if rid in targets:
            out[sheet.get("name", "")] = targets[rid]
    return out


def hidden_sheets(zf: zipfile.ZipFile) -> set[str]:
    """Names of the sheets the workbook hides (``state="hidden"`` or ``"veryHidden"``)."""
    root = parse_xml(zf.read(workbook_part(zf)))
    return {s.get("name", "") for s in root.iter(f"{{{_NS_MAIN}}}sheet") if s.get("state", "visible") != "visible"}


def uses_1904_dates(zf: zipfile.ZipFile) -> bool:
    root = parse_xml(zf.read(workbook_part(zf)))
    pr = root.find(f"{{{_NS_MAIN}}}workbookPr")
    return pr is not None and pr.get("date1904", "0").lower() in ("1", "true")


# ---------------------------------------------------------------- Excel ownership

def owner_file_for(path: str | os.PathLike) -> Path:
    """The owner (lock) file Excel keeps beside a workbook it has open: ``~$<name>``."""
    p = Path(path)
    return p.with_name("~$" + p.name)


def assert_not_open_in_excel(path: str | os.PathLike) -> None:
    """Refuse to write a workbook someone has open: an owner file beside it, or no exclusive write access."""
    p = Path(path)
    owner = owner_file_for(p)
    if owner.exists():
        who = _owner_name(owner)
        by = f"（{who} 正在使用）" if who else ""
        raise WorkbookLocked(f"工作簿正在 Excel 中打开{by}，未写入；结果已保留，下次会补上",
                             f"请在 Excel 里保存并关闭它后重试（或删除遗留的 {owner.name}）", path=str(p))
    if p.exists():
        try:
            # On Windows this fails while Excel holds the file; elsewhere it proves write access.
            with open(p, "r+b"):
                pass
        except PermissionError:
            raise WorkbookLocked("工作簿被其他程序占用或只读，未写入",
                                 "请关闭打开它的程序、取消只读后重试", path=str(p)) from None


def _owner_name(owner: Path) -> str:
    """The user name Excel writes into its owner file ``~$name.xlsx``.

    Layout (as LibreOffice documents it from Office 2016 owner files): a length byte, the name in the
    Windows ANSI code page padded with spaces, then at offset 55 (54 in Word's files) a 2-byte length
    and the same name in UTF-16LE. The UTF-16 copy is exact for any script; the ANSI copy is read as
    the Chinese code page (GBK) only when the file is too short to hold the UTF-16 copy."""
    try:
        data = owner.read_bytes()[:256]
    except OSError:
        return ""
    if not data or not 0 < data[0] <= 52:
        return ""
    for at in (55, 54):
        if len(data) >= at + 2:
            n = data[at] | (data[at + 1] << 8)
            if 0 < n <= 52 and len(data) >= at + 2 + 2 * n:
                name = data[at + 2 : at + 2 + 2 * n].decode("utf-16-le", errors="ignore").strip("\x00 ")
                if name and name.isprintable():
                    return name
    ansi = data[1 : 1 + data[0]]
    for codec in ("gbk", "latin-1"):
        try:
            return ansi.decode(codec).strip("\x00 ")
        except UnicodeDecodeError:
            continue
    return ""


# ---------------------------------------------------------------- atomic replace

def temp_path_for(path: Path) -> Path:
    """A temp file in the same folder (so ``os.replace`` is atomic), named so it is never taken for data."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_MARK}")


def remove_stale_temps(path: Path) -> None:
    """Temp files left by a writer that was killed: remove those whose process is gone."""
    prefix = f".{path.name}."
    for tmp in path.parent.glob(f".{glob_escape(path.name)}.*{TEMP_MARK}"):
        pid = tmp.name[len(prefix) : -len(TEMP_MARK)]
        if pid.isdigit() and (int(pid) == os.getpid() or not pid_alive(int(pid))):
            try:
                tmp.unlink()
            except OSError:
                pass


def glob_escape(name: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", name)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_copy(path: Path, backup_dir: Path, keep: int = BACKUPS_KEPT) -> Path:
    """Copy the current workbook into ``backup_dir`` as ``<stem>.<timestamp><suffix>``; keep the newest ``keep``."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = backup_dir / f"{path.stem}.{stamp}{path.suffix}"
    part = target.with_name(target.name + ".part")
    shutil.copyfile(path, part)
    fsync_file(part)
    os.replace(part, target)
    pattern = re.compile(re.escape(path.stem) + r"\.\d{8}-\d{6}-\d{6}" + re.escape(path.suffix) + "$")
    olds = sorted(f for f in backup_dir.iterdir() if pattern.match(f.name))
    for old in olds[: max(0, len(olds) - keep)]:
        try:
            old.unlink()
        except OSError:
            pass
    return target


def atomic_replace(tmp: str | os.PathLike, path: str | os.PathLike, backup_dir: str | os.PathLike | None = None,
                   keep: int = BACKUPS_KEPT) -> Path | None:
    """Make the finished ``tmp`` the new ``path``: fsync it, back up the old file, ``os.replace``, fsync the folder.

    At every instant the path holds either the complete old or the complete new workbook.
    Returns the backup's path (None when there was no old file or no backup folder).
    """
    tmp, path = Path(tmp), Path(path)
    fsync_file(tmp)
    backup = None
    if backup_dir is not None and path.exists():
        backup = backup_copy(path, Path(backup_dir), keep)
    for attempt in range(5):
        try:
            os.replace(tmp, path)
            break
        except PermissionError:
            if attempt == 4:
                raise WorkbookLocked("工作簿被其他程序占用，未能替换", "请关闭打开它的程序后重试", path=str(path)) from None
            time.sleep(0.2 * (attempt + 1))
    _fsync_dir(path.parent)
    return backup


def save_workbook(wb, path: str | os.PathLike, backup_dir: str | os.PathLike | None = None) -> Path:
    """Save an openpyxl workbook the product made (reports, archives, exports) atomically, never half-written."""
    from contextlib import nullcontext

    from xl_addin.adapters.workbook.lock import workbook_lock

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    # Replacing a workbook that exists: one writer at a time (a new file has no reader to race).
    with workbook_lock(path) if path.exists() else nullcontext():
        try:
            wb.save(tmp)
            atomic_replace(tmp, path, backup_dir)
        finally:
            if tmp.exists():
                tmp.unlink()
    return path
