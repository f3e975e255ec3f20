"""The hostile corpus, generated at test time: each case is (name, kind, bytes).

A base order workbook is made once with openpyxl (a staff-like sheet: formats, a formula column,
a validation, a table); every case is a byte-level or XML-level mutation of it, or a CSV. Nothing
binary is committed. The same seed gives the same corpus.
"""

from __future__ import annotations

import io
import random
import zipfile
from functools import lru_cache

HEADER = ["订单编号", "客户名称", "货物名称", "数量", "收货人", "收货人电话", "收货地址", "备注"]
SHEET = "sheet1.xml"


@lru_cache(maxsize=None)
def base_book(rows: int = 8, hidden_decoy: bool = False, table: bool = True) -> bytes:
    import openpyxl
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.table import Table

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "订单"
    ws.append(HEADER + ["金额"])
    for i in range(rows):
        ws.append([f"SO{i:04d}", "客户甲", "马克杯", 1 + i % 3, "张三", "13800138000",
                   f"浙江省杭州市西湖区文三路{i + 1}号", "易碎" if i % 2 else None, f"=D{i + 2}*12.5"])
        ws.cell(i + 2, 4).number_format = "0.00"
    dv = DataValidation(type="list", formula1='"易碎,加急"', allow_blank=True)
    ws.add_data_validation(dv)
    dv.add(f"H2:H{rows + 1}")
    if table:
        ws.add_table(Table(displayName="订单表", ref=f"A1:I{rows + 1}"))
    if hidden_decoy:
        decoy = wb.create_sheet("旧订单", 0)
        decoy.append(HEADER)
        decoy.append(["DECOY1", "x", "y", 1, "z", "13800138000", "浙江省杭州市西湖区文三路1号", None])
        decoy.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _zip(parts: dict[str, bytes], compress=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        for n, b in parts.items():
            zf.writestr(n, b)
    return buf.getvalue()


def _sheet_name(parts: dict[str, bytes]) -> str:
    return next(n for n in parts if n.startswith("xl/worksheets/sheet") and n.endswith(".xml"))


def _mutate_sheet(data: bytes, fn) -> bytes:
    parts = _parts(data)
    name = _sheet_name(parts)
    parts[name] = fn(parts[name])
    return _zip(parts)


def _far_cell(ref: str):
    def fn(xml: bytes) -> bytes:
        r = "".join(ch for ch in ref if ch.isdigit())
        return xml.replace(b"</sheetData>", f'<row r="{r}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'.encode())
    return fn


def _claim(ref: str):
    def fn(xml: bytes) -> bytes:
        import re
        return re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="A1:{ref}"'.encode(), xml, count=1)
    return fn


def workbook_cases(rng: random.Random) -> list[tuple[str, str, bytes]]:
    good = base_book()
    out: list[tuple[str, str, bytes]] = [("good", "xlsx", good)]
    # truncated and bit-flipped packages
    for i in range(80):
        cut = rng.randrange(20, len(good) - 1)
        out.append((f"truncated-{i}", "xlsx", good[:cut]))
    for i in range(80):
        b = bytearray(good)
        for _ in range(rng.randrange(1, 8)):
            b[rng.randrange(30, len(b))] ^= 1 << rng.randrange(8)
        out.append((f"bitflip-{i}", "xlsx", bytes(b)))
    # other containers and formats
    out += [("empty", "xlsx", b""), ("ole-xls", "xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600),
            ("encrypted", "xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 600),
            ("text-as-xlsx", "xlsx", "订单编号,客户\nSO1,甲\n".encode()), ("png", "xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
            ("plain-zip", "xlsx", _zip({"a.txt": b"hello"})),
            ("docx-like", "xlsx", _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}))]
    # far cells and claimed dimensions
    for ref in ["XFD1048576", "XFD20000", "CV1048576", "ZZ100000", "A1048576", "XFE1", "A1048577", "AAAA1"]:
        out.append((f"far-{ref}", "xlsx", _mutate_sheet(good, _far_cell(ref))))
        out.append((f"claim-{ref}", "xlsx", _mutate_sheet(good, _claim(ref))))
    # bombs and XXE
    pad = b" " * (40 * 1024 * 1024)
    out.append(("whitespace-bomb", "xlsx", _mutate_sheet(good, lambda x: x.replace(b"<sheetData>", b"<sheetData>" + pad))))
    xxe = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    lol = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    for tag, head in (("xxe", xxe), ("billion-laughs", lol)):
        for part in ("sheet", "sharedStrings", "workbook", "styles"):
            parts = _parts(good)
            name = {"sheet": _sheet_name(parts), "workbook": "xl/workbook.xml", "styles": "xl/styles.xml",
                    "sharedStrings": "xl/sharedStrings.xml"}[part]
            if name not in parts:
                parts[name] = b"<sst/>"
            body = parts[name].split(b"?>", 1)[-1]
            parts[name] = head + body
            out.append((f"{tag}-{part}", "xlsx", _zip(parts)))
    # raw control characters, broken tables, relationships out of the package, missing parts
    for ch in (0x01, 0x07, 0x1A, 0x1F, 0x00):
        out.append((f"raw-control-{ch:02x}", "xlsx",
                    _mutate_sheet(good, lambda x, ch=ch: x.replace(b"SO0001", b"SO" + bytes([ch]) + b"0001", 1))))
    parts = _parts(good)
    for t in [n for n in parts if n.startswith("xl/tables/")]:
        for i, bad in enumerate(['ref="A1:XFE9"', 'ref="junk"', 'ref="A0:I9"', 'ref=""']):
            p2 = dict(parts)
            import re
            p2[t] = re.sub(rb'ref="[^"]*"', bad.encode(), p2[t])
            out.append((f"table-ref-{i}", "xlsx", _zip(p2)))
    for i, target in enumerate(["../../../etc/passwd", "/xl/worksheets/nothere.xml", "worksheets/missing.xml",
                                "http://example.invalid/x.xml"]):
        p2 = dict(parts)
        import re
        p2["xl/_rels/workbook.xml.rels"] = re.sub(rb'Target="/?(xl/)?worksheets/sheet1.xml"', f'Target="{target}"'.encode(),
                                                  p2["xl/_rels/workbook.xml.rels"])
        out.append((f"rels-outside-{i}", "xlsx", _zip(p2)))
    for drop in ("xl/workbook.xml", "[Content_Types].xml", "xl/styles.xml", "_rels/.rels", "xl/_rels/workbook.xml.rels"):
        p2 = {k: v for k, v in parts.items() if k != drop}
        out.append((f"missing-{drop.replace('/', '_')}", "xlsx", _zip(p2)))
    # a corrupt member: valid directory, garbage deflate stream
    raw = bytearray(good)
    at = raw.find(b"xl/worksheets/sheet1.xml")
    if at > 0:
        for j in range(at + 40, min(at + 400, len(raw)), 7):
            raw[j] ^= 0x55
    out.append(("corrupt-member", "xlsx", bytes(raw)))
    out.append(("stored-not-deflated", "xlsx", _zip(parts, zipfile.ZIP_STORED)))
    out.append(("hidden-decoy", "xlsx", base_book(hidden_decoy=True)))
    out += staff_variants()
    return out


def _book_bytes(build) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    build(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def staff_variants() -> list[tuple[str, str, bytes]]:
    """Whole workbooks as staff keep them: hostile text in cells, header oddities, formats, formulas."""
    out = []

    def orders(ws, header=HEADER, first=1, n=4, put=None):
        for _ in range(first - 1):
            ws.append(["订单确认单（内部）"])
        ws.append(header)
        for i in range(n):
            row = [f"ST{i:04d}", "客户丙", "台灯", 1, "王五", "13700137000", f"上海市浦东新区世纪大道{i + 1}号", None]
            if put:
                put(i, row)
            ws.append(row[: len(header)])

    for i, text in enumerate(HOSTILE_TEXT):
        if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in text):
            continue  # a cell cannot hold these (the raw-control cases put them into the XML instead)
        for col in (0, 2, 7):
            def build(wb, text=text, col=col):
                ws = wb.active
                ws.title = "订单"
                orders(ws, put=lambda r, row: row.__setitem__(col, text) if r == 1 else None)
                for c in ws[3]:
                    if isinstance(c.value, str) and c.value[:1] in "=+-@":
                        c.data_type = "s"
            out.append((f"staff-text-{i}-c{col}", "xlsx", _book_bytes(build)))
    headers = {
        "header-row-3": dict(first=3), "english": dict(header=["Order No", "Customer", "Goods", "Qty", "Receiver",
                                                               "Phone", "Address", "Notes"]),
        "spaces": dict(header=[f" {h} " for h in HEADER]), "fullwidth": dict(header=[h + "：" for h in HEADER]),
        "dup-col": dict(header=HEADER[:3] + ["订单编号"] + HEADER[4:]), "missing-required": dict(header=HEADER[:5]),
        "no-header": dict(header=["", "", ""]), "numbers-header": dict(header=[1, 2, 3, 4, 5, 6, 7, 8]),
        "empty-rows": dict(n=0), "many": dict(n=300),
    }
    for name, kw in headers.items():
        out.append((f"header-{name}", "xlsx", _book_bytes(lambda wb, kw=kw: orders(wb.active, **kw))))

    def formats(wb):
        from openpyxl.styles import Font, PatternFill
        ws = wb.active
        orders(ws, n=6)
        ws["I1"] = "员工公式"
        for r in range(2, 8):
            ws.cell(r, 9).value = f'=IF(D{r}>1,"多","少")'
            ws.cell(r, 1).fill = PatternFill("solid", fgColor="FFFF00")
            ws.cell(r, 2).font = Font(bold=True)
        ws["K3"] = "手写备注"
        ws.merge_cells("B2:B3")
        ws.freeze_panes = "A2"
    out.append(("staff-formats", "xlsx", _book_bytes(formats)))

    def two_visible(wb):
        orders(wb.active)
        orders(wb.create_sheet("汇总"))
    out.append(("two-visible-sheets", "xlsx", _book_bytes(two_visible)))
    return out


HOSTILE_TEXT = ["=HYPERLINK(\"http://evil.invalid\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
                "=cmd|' /C calc'!A0", "_x0041_", "a" * 40000, "\u202e反转", "\x01\x07", "\ufeff订单", "null", "'"]


def csv_cases(rng: random.Random) -> list[tuple[str, str, bytes]]:
    out: list[tuple[str, str, bytes]] = []
    head = ",".join(HEADER)

    def row(i, **over):
        cells = [f"CS{i:05d}", "客户乙", "保温杯", "2", "李四", "13900139000", f"江苏省南京市鼓楼区中山路{i}号", ""]
        for k, v in over.items():
            cells[int(k[1:])] = v
        return ",".join('"' + c.replace('"', '""') + '"' for c in cells)

    for i, text in enumerate(HOSTILE_TEXT):
        for col in (0, 2, 7):
            body = "\r\n".join([head, row(1), row(2, **{f"c{col}": text}), row(3)])
            out.append((f"csv-text-{i}-c{col}", "csv", body.encode("utf-8")))
    for enc in ("utf-8", "utf-8-sig", "gb18030", "utf-16"):
        out.append((f"csv-enc-{enc}", "csv", "\r\n".join([head, row(1), row(2)]).encode(enc)))
    out += [("csv-empty", "csv", b""), ("csv-only-header", "csv", head.encode()),
            ("csv-binary", "csv", bytes(rng.randrange(256) for _ in range(2000))),
            ("csv-unclosed-quote", "csv", (head + '\r\n"CS1,甲').encode()),
            ("csv-long-line", "csv", (head + "\r\n" + "x" * (3 * 1024 * 1024)).encode()),
            ("csv-bom-mid", "csv", b"\xef\xbb\xbf" + (head + "\r\n" + row(1)).encode() + b"\r\n\xef\xbb\xbf" + row(2).encode()),
            ("csv-dos-eof", "csv", ("\r\n".join([head, row(1)]) + "\r\n\x1a").encode()),
            ("csv-nul", "csv", ("\r\n".join([head, row(1)])).encode() + b"\x00\x00"),
            ("csv-dup-header", "csv", ("\r\n".join([head, row(1), head, row(2)])).encode()),
            ("csv-semicolon", "csv", "\r\n".join([head.replace(",", ";"), row(1).replace(",", ";")]).encode()),
            ("csv-no-order-col", "csv", "\r\n".join(["客户名称,货物名称", "甲,杯"]).encode())]
    for i in range(100):  # random garbage lines among good rows
        lines = [head] + [row(j) for j in range(1, 6)]
        at = rng.randrange(1, len(lines) + 1)
        junk = "".join(chr(rng.choice([rng.randrange(1, 32), rng.randrange(32, 127), rng.randrange(0x4E00, 0x4F00)]))
                       for _ in range(rng.randrange(1, 60)))
        lines.insert(at, junk)
        out.append((f"csv-junk-{i}", "csv", "\r\n".join(lines).encode("utf-8")))
    return out


def corpus(seed: int = 20) -> list[tuple[str, str, bytes]]:
    rng = random.Random(seed)
    return workbook_cases(rng) + csv_cases(rng)
