"""The national division table (province / city / district) as a dict index.

Loaded once, lazily, from ``data/divisions.tsv`` (public national division
codes, extracted by ``tools/build_divisions.py``). Lookups are by exact name
in a dict for every candidate length at a text position, so matching an
address costs a few dozen dict probes, never a scan of the 3,200 rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from threading import Lock

PROVINCE, CITY, COUNTY = 1, 2, 3
# Regions no offline data here can check down to the street.
REVIEW_PROVINCES = frozenset({"710000", "810000", "820000"})


@dataclass(frozen=True)
class Division:
    code: str
    level: int
    name: str
    short: str
    parent: str


class DivisionIndex:
    """Names (full and short) → divisions, plus parent/children links."""

    def __init__(self, rows: list[Division]) -> None:
        self.by_code = {d.code: d for d in rows}
        self.children: dict[str, list[Division]] = {}
        self.by_name: dict[str, list[tuple[Division, bool]]] = {}  # name → [(division, is_short)]
        for d in rows:
            if d.parent:
                self.children.setdefault(d.parent, []).append(d)
            self.by_name.setdefault(d.name, []).append((d, False))
            if d.short:
                self.by_name.setdefault(d.short, []).append((d, True))
        self.max_len = max(len(n) for n in self.by_name)
        # first two characters → the lengths of names starting with them, longest first:
        # a text position costs one probe here plus one per real candidate length
        lengths: dict[str, set[int]] = {}
        for n in self.by_name:
            lengths.setdefault(n[:2], set()).add(len(n))
        self.lengths = {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()}

    def parent(self, d: Division) -> Division | None:
        return self.by_code.get(d.parent) if d.parent else None

    def province_of(self, d: Division) -> Division:
        while d.level > PROVINCE:
            d = self.by_code[d.parent]
        return d

    def city_of(self, d: Division) -> Division | None:
        while d.level > CITY:
            d = self.by_code[d.parent]
        return d if d.level == CITY else None

    def has_districts(self, city: Division) -> bool:
        return bool(self.children.get(city.code))

    def only_city(self, province: Division) -> Division | None:
        """The municipality's single city row (北京市 → 北京市)."""
        kids = self.children.get(province.code, [])
        return kids[0] if len(kids) == 1 else None

    def names_at(self, text: str, pos: int) -> list[tuple[str, list[tuple[Division, bool]]]]:
        """Division names starting at ``pos``, longest first."""
        lengths = self.lengths.get(text[pos:pos + 2])
        if not lengths:
            return []  # names have at least 2 characters
        found = []
        room = len(text) - pos
        by_name = self.by_name
        for n in lengths:
            if n <= room:
                name = text[pos:pos + n]
                hits = by_name.get(name)
                if hits:
                    found.append((name, hits))
        return found


_index: DivisionIndex | None = None
_lock = Lock()


def division_index() -> DivisionIndex:
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                _index = DivisionIndex(_load())
    return _index


def _load() -> list[Division]:
    text = resources.files(__package__).joinpath("data").joinpath("divisions.tsv").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if not line or line.startswith("#") or line.startswith("code\t"):
            continue
        code, level, name, short, parent = line.split("\t")
        rows.append(Division(code, int(level), name, short, parent))
    return rows
