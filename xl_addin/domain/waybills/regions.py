"""Destination province groups, relative to the shipper's province.

Prices and promised transit days depend on how far the goods travel. The
group of a destination is: ``same`` (同省), ``neighbour`` (相邻省, land
border), ``remote`` (偏远: 新疆 西藏 青海 内蒙古 甘肃 宁夏), otherwise
``national``. Hong Kong, Macau and Taiwan have no group (not domestic express).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

SAME = "same"
NEIGHBOUR = "neighbour"
NATIONAL = "national"
REMOTE = "remote"
GROUPS = (SAME, NEIGHBOUR, NATIONAL, REMOTE)
GROUP_LABELS = {SAME: "同省", NEIGHBOUR: "相邻省", NATIONAL: "全国", REMOTE: "偏远地区"}

# Longest first, so 广西壮族自治区 loses the whole suffix, not only 自治区.
_SUFFIXES = (
    "维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市",
)


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, frozenset[str]], frozenset[str], dict[str, str]]:
    import tomllib

    raw = tomllib.loads(resources.files(__package__).joinpath("data/provinces.toml").read_text("utf-8"))
    neighbours: dict[str, set[str]] = {name: set(v.get("neighbours", ())) for name, v in raw["provinces"].items()}
    for name, others in list(neighbours.items()):  # borders are mutual even if the file lists one side
        for other in others:
            neighbours[other].add(name)
    aliases: dict[str, str] = {}
    for name, v in raw["provinces"].items():
        aliases[name] = name
        for alias in [v.get("en", ""), *v.get("aliases", ())]:
            if alias:
                aliases[alias.casefold().replace(" ", "")] = name
    return ({k: frozenset(v) for k, v in neighbours.items()}, frozenset(raw["remote"]), aliases)


def normalize_province(text: str | None) -> str | None:
    """'浙江省', '浙江', 'Zhejiang', '广西壮族自治区' → the short Chinese name; unknown → None."""
    if not text:
        return None
    s = "".join(unicodedata.normalize("NFKC", str(text)).split())
    aliases = _table()[2]
    if s in aliases:
        return aliases[s]
    for suffix in _SUFFIXES:
        if s.endswith(suffix) and s[: -len(suffix)] in aliases:
            return aliases[s[: -len(suffix)]]
    return aliases.get(s.casefold())


def province_group(destination: str | None, shipper: str | None) -> str | None:
    """The price/transit group of ``destination`` seen from ``shipper``; None when either is unknown."""
    dest, home = normalize_province(destination), normalize_province(shipper)
    if dest is None or home is None:
        return None
    neighbours, remote, _ = _table()
    if dest == home:
        return SAME
    if dest in remote:
        return REMOTE
    if dest in neighbours.get(home, ()):
        return NEIGHBOUR
    return NATIONAL


