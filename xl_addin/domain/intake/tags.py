"""Special requirements → canonical tags (易碎, 加急 …) plus the parts nobody understood.

Synonyms are found anywhere in the text (so "cold chain", "易碎品请轻拿轻放"
work); whatever is left after removing them and filler words (请, 的, please)
is split on separators and reported as unknown. A synonym right after a
negation (不加急, 无需保价) is understood but gives no tag.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .rules import IntakeRules, folded_keyword
from .text import fold

_SEPARATORS = re.compile(r"[\s,，、;；/／|｜。.!！?？:：()（）\[\]【】\"'“”‘’+&]+")
_NEGATION = ("不需要", "不需", "不用", "无需", "无须", "不要", "不", "无", "别", "免", "no ", "not ", "non-")
_FILLER = re.compile(
    r"(?:请|请您|的|注意|需要|需|要求|要|务必|一定|必须|物品|货物|商品|品|件|包裹|谢谢|麻烦|"
    r"please|pls|and|the|with|和|及|并|且|也|都|等|哦|啊|保存|存放|储存|温度|温控)+"
)
_NOTHING = frozenset({"无", "没有", "无要求", "无特殊要求", "暂无", "none", "n/a", "na", "nil", "-", "--", "/", "无备注"})


def _tag_automaton(rules: IntakeRules):
    import ahocorasick

    auto = ahocorasick.Automaton()
    for name, synonyms in rules.tags:
        for syn in (name, *synonyms):
            key = folded_keyword(syn)
            if key:
                auto.add_word(key, (len(key), name))
    auto.make_automaton()
    return auto


def _word_bounded(text: str, start: int, end: int) -> bool:
    """English synonyms match whole words only ('cod' is not inside 'barcode')."""
    if not text[start].isascii():
        return True
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def parse_tags(text: object, rules: IntakeRules) -> tuple[list[str], list[str]]:
    """(canonical tags in order of appearance, unknown parts)."""
    if text is None:
        return [], []
    return _parse_cached(" ".join(fold(str(text)).split()), rules)


@lru_cache(maxsize=32768)
def _parse_cached(text: str, rules: IntakeRules) -> tuple[list[str], list[str]]:
    if not text or text in _NOTHING:
        return [], []
    auto = rules.cached("tag_automaton", lambda: _tag_automaton(rules))
    matches = sorted(((end - length + 1, end + 1, name) for end, (length, name) in auto.iter(text)),
                     key=lambda m: (m[0], -(m[1] - m[0])))
    tags: list[str] = []
    covered = bytearray(len(text))
    last_end = 0
    for start, end, name in matches:  # leftmost-longest, non-overlapping
        if start < last_end or not _word_bounded(text, start, end):
            continue
        last_end = end
        covered[start:end] = b"\x01" * (end - start)
        neg = next((n for n in _NEGATION if text[:start].endswith(n)), None)
        if neg:
            covered[start - len(neg):start] = b"\x01" * len(neg)
            continue
        if name not in tags:
            tags.append(name)
    leftover = "".join(ch if not covered[i] else " " for i, ch in enumerate(text))
    unknown = []
    for part in _SEPARATORS.split(leftover):
        part = part.strip()
        if part and not _FILLER.fullmatch(part) and part not in _NOTHING:
            unknown.append(part)
    return list(tags), unknown
