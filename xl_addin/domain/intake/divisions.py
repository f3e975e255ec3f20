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

    def __init__(self, rows: list[Division], retired: list[tuple[str, str, str, str]] = (),
                 new_areas: list[tuple[str, str, str]] = ()) -> None:
        self.by_code = {d.code: d for d in rows}
        self.children: dict[str, list[Division]] = {}
        self.by_name: dict[str, list[tuple[Division, bool]]] = {}  # name → [(division, is_short)]
        for d in rows:
            if d.parent:
                self.children.setdefault(d.parent, []).append(d)
            self.by_name.setdefault(d.name, []).append((d, False))
            if d.short:
                self.by_name.setdefault(d.short, []).append((d, True))
        # everyday forms of autonomous units, used like full names: 甘孜州 (甘孜藏族自治州), 长阳县 (…自治县)
        for d in rows:
            for suffix, alias_suffix in (("自治州", "州"), ("自治县", "县")):
                if d.short and d.name.endswith(suffix) and (alias := d.short + alias_suffix) not in self.by_name:
                    self.by_name[alias] = [(d, False)]
        cities = {(self.province_of(d).code, d.name): d for d in rows if d.level == CITY}
        city_by_name: dict[str, list[Division]] = {}
        for d in cities.values():
            city_by_name.setdefault(d.name, []).append(d)
        # retired district name → [(its city, current district(s), year of the change)]
        self.retired: dict[str, list[tuple[Division, tuple[Division, ...], str]]] = {}
        for city_name, old, current, year in retired:
            for city in city_by_name.get(city_name, []):
                now = tuple(k for k in self.children.get(city.code, []) if k.name in current.split("|"))
                self.retired.setdefault(old, []).append((city, now, year))
        # national new area → (province, the cities its counties belong to)
        self.new_areas: dict[str, tuple[Division, tuple[Division, ...]]] = {}
        for name, province, city_names in new_areas:
            prov = next((d for d, _ in self.by_name.get(province, []) if d.level == PROVINCE), None)
            if prov is not None:
                self.new_areas[name] = (prov, tuple(c for n in city_names.split("|")
                                                    for c in city_by_name.get(n, []) if self.province_of(c) is prov))
        self.retired_starts = frozenset(n[:2] for n in self.retired)
        self.new_area_starts = frozenset(n[:2] for n in self.new_areas)
        # how far retired_at / new_area_at look past a position that starts one of their names
        self.retired_max = max((len(n) for n in self.retired), default=2)
        self.new_area_max = max((len(n) for n in self.new_areas), default=2)
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

    def retired_at(self, text: str, pos: int) -> tuple[str, list[tuple[Division, tuple[Division, ...], str]]] | None:
        """A retired district name starting at ``pos``: (name, [(city, current districts, year)])."""
        if text[pos:pos + 2] not in self.retired_starts:
            return None
        for name, entries in self.retired.items():
            if text.startswith(name, pos):
                return name, entries
        return None

    def new_area_at(self, text: str, pos: int) -> tuple[str, Division, tuple[Division, ...]] | None:
        """A national new area (雄安新区, 天府新区 …) starting at ``pos``."""
        if text[pos:pos + 2] not in self.new_area_starts:
            return None  # the common case: one set probe
        for name, (province, cities) in self.new_areas.items():
            if text.startswith(name, pos):
                return name, province, cities
        return None

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
                _index = DivisionIndex(_load(), _table("retired_divisions.tsv", 4), _table("new_areas.tsv", 3))
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


def _table(name: str, width: int) -> list[tuple[str, ...]]:
    text = resources.files(__package__).joinpath("data").joinpath(name).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            parts = tuple(p.strip() for p in line.split("\t"))
            if len(parts) != width:
                raise ValueError(f"{name}: 应为 {width} 列: {line!r}")
            rows.append(parts)
    return rows
