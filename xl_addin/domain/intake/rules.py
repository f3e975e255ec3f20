"""The desk's rule data: prohibited/restricted/allowed keywords and special-requirement tags.

The lists are data files under ``data/`` that the desk can extend (the
service reads their extra sheet or file and calls :meth:`IntakeRules.extended`).
Files are read on first use, once; the Aho–Corasick automata are built on the
first check, once per rule set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from threading import Lock
from typing import Any, Iterable, Mapping

from .quantities import DEFAULT_LIMITS, Limits
from .text import compact, fold


@dataclass(frozen=True, eq=False)  # identity hash: cheap as a cache key
class IntakeRules:
    """Keyword catalogue and tag list; immutable, so one instance can be shared."""

    prohibited: tuple[tuple[str, str], ...]  # (term, catalogue category)
    allowed: tuple[str, ...]
    restricted: tuple[tuple[str, str], ...]  # (term, reason)
    tags: tuple[tuple[str, tuple[str, ...]], ...]  # (canonical tag, synonyms)
    limits: Limits = DEFAULT_LIMITS  # plausibility ceilings for pieces, weight, volume
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def default(cls) -> "IntakeRules":
        global _default
        if _default is None:
            with _lock:
                if _default is None:
                    _default = _load_packaged()
        return _default

    def extended(
        self,
        prohibited: Iterable[tuple[str, str]] = (),
        allowed: Iterable[str] = (),
        restricted: Iterable[tuple[str, str]] = (),
        tags: Mapping[str, Iterable[str]] | None = None,
    ) -> "IntakeRules":
        """A new rule set with the desk's own additions (this one is unchanged)."""
        prohibited, restricted, allowed = list(prohibited), list(restricted), list(allowed)
        for term, _ in prohibited + restricted:
            _require_keyword(term)
        for term in allowed:
            _require_keyword(term)
        merged_tags = {name: list(syns) for name, syns in self.tags}
        for name, syns in (tags or {}).items():
            merged_tags.setdefault(name, [])
            merged_tags[name].extend(s for s in [name, *syns] if s not in merged_tags[name])
        return IntakeRules(
            prohibited=self.prohibited + tuple((t.strip(), c.strip()) for t, c in prohibited),
            allowed=self.allowed + tuple(t.strip() for t in allowed),
            restricted=self.restricted + tuple((t.strip(), r.strip()) for t, r in restricted),
            tags=tuple((name, tuple(syns)) for name, syns in merged_tags.items()),
            limits=self.limits,
        )

    def with_limits(self, limits: Limits) -> "IntakeRules":
        """The same lists with other plausibility ceilings (the desk's ``[intake]`` config)."""
        return IntakeRules(self.prohibited, self.allowed, self.restricted, self.tags, limits)

    def cached(self, key: str, build):  # noqa: ANN001 - tiny internal helper
        """Build a derived structure (automaton) once per rule set."""
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = build()
        return value

    @property
    def tag_names(self) -> list[str]:
        return [name for name, _ in self.tags]


_default: IntakeRules | None = None
_lock = Lock()


def _require_keyword(term: str) -> None:
    if len(compact(term)) < 2:
        raise ValueError(f"关键词“{term}”太短：单个字会误报大量正常商品，请写成至少两个字的词。")


def _data(*parts: str):
    node = resources.files(__package__).joinpath("data")
    for p in parts:
        node = node.joinpath(p)
    return node


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _load_packaged() -> IntakeRules:
    prohibited: list[tuple[str, str]] = []
    for entry in sorted(_data("prohibited").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".txt"):
            continue
        text = entry.read_text(encoding="utf-8")
        category = next(ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("# category:"))
        prohibited.extend((term, category) for term in _lines(text))
    allowed = _lines(_data("allowed.txt").read_text(encoding="utf-8"))
    restricted = [tuple(ln.split("\t", 1)) for ln in _lines(_data("restricted.tsv").read_text(encoding="utf-8"))]
    tags = []
    for ln in _lines(_data("tags.tsv").read_text(encoding="utf-8")):
        name, syns = ln.split("\t", 1)
        tags.append((name, tuple(s.strip() for s in syns.split("|") if s.strip())))
    return IntakeRules(tuple(prohibited), tuple(allowed), tuple(restricted), tuple(tags))  # type: ignore[arg-type]


def folded_keyword(term: str) -> str:
    """How a tag synonym is compared: folded, spaces collapsed."""
    return " ".join(fold(term).split())
