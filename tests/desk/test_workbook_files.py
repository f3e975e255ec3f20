"""Bad files get one clear line naming the file (exit 2); an open workbook is never overwritten."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xl_addin.adapters.workbook.files import (
    atomic_replace, check_workbook_file, owner_file_for, temp_path_for,
)
from xl_addin.adapters.workbook.reader import read_sheet
from xl_addin.adapters.workbook.schema import Column, SheetSchema
from xl_addin.adapters.workbook.xml_patch import write_cells
from xl_addin.errors import WorkbookError, WorkbookLocked

SCHEMA = SheetSchema("订单确认单", "Orders", (Column("order_no", "订单编号", required=True),))
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _good(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "订单确认单"
    wb.active.append(["订单编号"])
    wb.active.append(["SO-1"])
    wb.save(path)
    return path


def _with_dtd(data: bytes, dtd: bytes) -> bytes:
    body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
    return b'<?xml version="1.0"?>' + dtd + body


def _rezip(src: Path, dst: Path, change) -> Path:
    with zipfile.ZipFile(src) as z:
        items = [(n, z.read(n)) for n in z.namelist()]
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for n, data in items:
            data = change(n, data)
            if data is not None:
                out.writestr(n, data)
    return dst


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    good = _good(tmp / "good.xlsx")
    bomb_dtd = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    files = {
        "missing": (tmp / "不存在.xlsx", "不存在"),
        "xls": (tmp / "旧订单.xls", ".xls"),
        "csv": (tmp / "export.csv", "import"),
        "encrypted": (tmp / "加密.xlsx", "密码"),
        "text": (tmp / "notes.xlsx", "不是 Excel"),
        "corrupt": (tmp / "broken.xlsx", "损坏"),
        "docx": (tmp / "letter.xlsx", "没有工作簿部件"),
        "plainzip": (tmp / "archive.xlsx", "不是 .xlsx"),
        "bomb": (tmp / "bomb.xlsx", "DOCTYPE"),
        "empty": (tmp / "empty.xlsx", "空"),
    }
    (tmp / "旧订单.xls").write_bytes(OLE2 + b"\x00" * 504 + "Workbook".encode("utf-16-le") + b"\x00" * 512)
    (tmp / "export.csv").write_text("订单编号,客户\nSO-1,甲\n", encoding="utf-8")
    (tmp / "加密.xlsx").write_bytes(OLE2 + b"\x00" * 504 + "EncryptionInfo".encode("utf-16-le")
                                   + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 512)
    (tmp / "notes.xlsx").write_text("这不是工作簿", encoding="utf-8")
    (tmp / "broken.xlsx").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    _rezip(good, tmp / "letter.xlsx", lambda n, d: None if n.startswith("xl/") else
           (d.replace(b"xl/workbook.xml", b"word/document.xml") if n == "_rels/.rels" else d))
    with zipfile.ZipFile(tmp / "archive.xlsx", "w") as z:
        z.writestr("readme.txt", "hello")
    _rezip(good, tmp / "bomb.xlsx", lambda n, d: _with_dtd(d, bomb_dtd) if n == "xl/workbook.xml" else d)
    (tmp / "empty.xlsx").write_bytes(b"")
    return files


def test_each_bad_file_gets_a_one_line_error_naming_the_file(tmp_path):
    for kind, (path, words) in _bad_files(tmp_path).items():
        with pytest.raises(WorkbookError) as exc:
            check_workbook_file(path)
        text = str(exc.value)
        assert exc.value.exit_code == 2, kind
        assert path.name in text and words in text, (kind, text)
        assert "\n" not in text, kind
        with pytest.raises(WorkbookError):  # the reader refuses the same way
            read_sheet(path, SCHEMA)


def test_xml_bomb_in_any_part_is_refused_before_parsing(tmp_path):
    good = _good(tmp_path / "good.xlsx")
    bomb = _rezip(good, tmp_path / "styles_bomb.xlsx", lambda n, d: (
        _with_dtd(d, b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>') if n == "xl/styles.xml" else d))
    with pytest.raises(WorkbookError, match="xl/styles.xml"):
        check_workbook_file(bomb)
    assert check_workbook_file(good) == good


def test_owner_file_blocks_the_write_and_leaves_the_bytes_alone(tmp_path):
    path = _good(tmp_path / "订单确认单.xlsx")
    before = path.read_bytes()
    owner = owner_file_for(path)
    assert owner.name == "~$订单确认单.xlsx"
    owner.write_bytes(bytes([4]) + b"wang" + b"\x00" * 49)
    with pytest.raises(WorkbookLocked) as exc:
        write_cells(path, "订单确认单", 1, {2: "检查结果"}, {(2, 2): "通过"}, backup_dir=tmp_path / "bak")
    text = str(exc.value)
    assert "订单确认单.xlsx" in text and "Excel" in text and "关闭" in text and "wang" in text
    assert exc.value.exit_code == 2
    assert path.read_bytes() == before
    assert not (tmp_path / "bak").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    owner.unlink()
    write_cells(path, "订单确认单", 1, {2: "检查结果"}, {(2, 2): "通过"}, backup_dir=tmp_path / "bak")
    assert openpyxl.load_workbook(path).active["B2"].value == "通过"


def test_atomic_replace_keeps_the_newest_ten_backups(tmp_path):
    path = _good(tmp_path / "book.xlsx")
    bak = tmp_path / "backups"
    versions = []
    for i in range(12):
        tmp = temp_path_for(path)
        wb = openpyxl.load_workbook(path)
        wb.active["B1"] = i
        buf = io.BytesIO()
        wb.save(buf)
        tmp.write_bytes(buf.getvalue())
        versions.append(path.read_bytes())
        atomic_replace(tmp, path, bak)
        assert not tmp.exists()
    kept = sorted(bak.iterdir())
    assert len(kept) == 10
    assert kept[-1].read_bytes() == versions[-1] and kept[0].read_bytes() == versions[2]
    assert openpyxl.load_workbook(path).active["B1"].value == 11


def test_unknown_sheet_for_write_is_a_workbook_error(tmp_path):
    path = _good(tmp_path / "b.xlsx")
    before = path.read_bytes()
    with pytest.raises(WorkbookError, match="没有名为"):
        write_cells(path, "不存在", 1, {}, {(2, 1): "x"}, backup_dir=None)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["b.xlsx"]


def _excel_owner_file(name: str, ansi: bytes) -> bytes:
    """An Excel owner file laid out as LibreOffice documents Office's (165 bytes): length byte, ANSI name
    padded with spaces to offset 55, a 2-byte length, the UTF-16LE name, then space/zero filler."""
    data = bytearray([len(name)]) + ansi
    data += b" " * (55 - len(data))
    data += len(name).to_bytes(2, "little") + name.encode("utf-16-le")
    while len(data) < 165:
        data += b" \x00"
    return bytes(data[:165])


@pytest.mark.parametrize("name, ansi", [("王芳", "王芳".encode("gbk")), ("Zhang Wei", b"Zhang Wei"),
                                         ("李", "李".encode("gbk"))])
def test_owner_file_user_name_is_decoded_from_its_unicode_copy(tmp_path, name, ansi):
    path = _good(tmp_path / "订单确认单.xlsx")
    owner_file_for(path).write_bytes(_excel_owner_file(name, ansi))
    with pytest.raises(WorkbookLocked) as exc:
        write_cells(path, "订单确认单", 1, {2: "检查结果"}, {(2, 2): "通过"}, backup_dir=tmp_path / "bak")
    assert f"（{name} 正在使用）" in str(exc.value)


def test_owner_file_without_the_unicode_copy_reads_the_ansi_name_as_gbk(tmp_path):
    path = _good(tmp_path / "订单确认单.xlsx")
    owner_file_for(path).write_bytes(bytes([2]) + "王芳".encode("gbk")[:2] + b" " * 20)
    with pytest.raises(WorkbookLocked) as exc:
        write_cells(path, "订单确认单", 1, {2: "检查结果"}, {(2, 2): "通过"}, backup_dir=tmp_path / "bak")
    assert "王" in str(exc.value) and "Í" not in str(exc.value)
