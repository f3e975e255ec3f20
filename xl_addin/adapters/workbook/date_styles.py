"""The cell formats a written date needs: found in, or cloned into, the workbook's styles part."""

from __future__ import annotations

import re
import zipfile

from xl_addin.adapters.workbook.files import part_relations

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_STYLES = "/styles"
_DATE_BUILTINS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))


class Styles:
    """Finds or adds the cell format a date needs, cloned from the cell's own format (fill, font, border kept)."""

    def __init__(self, zin: zipfile.ZipFile):
        self._zin = zin
        self.part = next((t for _, typ, t in part_relations(zin, _wb(zin)) if typ.endswith(_REL_STYLES)), None)
        self._root = None
        self._cache: dict[tuple[int, int], int] = {}
        self.changed = False

    def _load(self):
        if self._root is None:
            from lxml import etree

            parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
            self._root = etree.fromstring(self._zin.read(self.part), parser)
            ns = {"m": _NS_MAIN}
            self._xfs = self._root.find("m:cellXfs", ns)
            self._custom = {int(n.get("numFmtId")): n.get("formatCode", "")
                            for n in self._root.iterfind("m:numFmts/m:numFmt", ns)}
        return self._root

    def _is_date_fmt(self, fmt_id: int) -> bool:
        if fmt_id in _DATE_BUILTINS:
            return True
        code = self._custom.get(fmt_id)
        if not code:
            return False
        code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code)
        return bool(re.search(r"[ydhs]", code, re.I)) or bool(re.search(r"m", code, re.I) and "0" not in code)

    def date_style(self, base: int | None, fmt_id: int) -> int | None:
        """The xf index to use for a date/time in a cell whose current style is ``base``."""
        if self.part is None:
            return base
        key = (base or 0, fmt_id)
        if key in self._cache:
            return self._cache[key]
        self._load()
        if self._xfs is None:
            return base
        xfs = list(self._xfs)
        src = xfs[base] if base is not None and base < len(xfs) else (xfs[0] if xfs else None)
        if src is not None and self._is_date_fmt(int(src.get("numFmtId", "0"))):
            self._cache[key] = base or 0
            return base
        from copy import deepcopy

        new = deepcopy(src) if src is not None else self._xfs.makeelement(f"{{{_NS_MAIN}}}xf", {})
        new.set("numFmtId", str(fmt_id))
        new.set("applyNumberFormat", "1")
        for i, xf in enumerate(xfs):
            if same_xf(xf, new):
                self._cache[key] = i
                return i
        self._xfs.append(new)
        self._xfs.set("count", str(len(xfs) + 1))
        self.changed = True
        self._cache[key] = len(xfs)
        return len(xfs)

    def to_bytes(self) -> bytes:
        from lxml import etree

        return etree.tostring(self._root, xml_declaration=True, encoding="UTF-8", standalone=True)


def same_xf(a, b) -> bool:
    from lxml import etree

    return dict(a.attrib) == dict(b.attrib) and etree.tostring(a) == etree.tostring(b)


def _wb(zin: zipfile.ZipFile) -> str:
    from xl_addin.adapters.workbook.files import workbook_part

    return workbook_part(zin)
