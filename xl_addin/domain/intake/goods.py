"""Goods names against the prohibited-goods catalogue and carriers' air restrictions.

Names are compacted first (NFKC, traditional → simplified, lower case, every
separator removed — except one space between two Latin words) so 手 枪, 手-枪,
手槍 and ＢＢ彈 all match. One Aho–Corasick automaton holds prohibited,
restricted and allowed terms, and the hits are read longest-first against that
lexicon: a hit that lies inside an allowed compound (筋膜枪, 象牙白, 硫磺皂,
麝香保心丸, 电子鞭炮 …) or inside a longer hit (打火机 inside the restricted
电子打火机) is dropped. A hit that starts or ends on a Latin letter or digit
must not continue a Latin word or number there, so ``pistol`` is a word,
``k粉`` is not inside ``pink粉色`` and ``钴60`` is not inside ``钴600``.
Why not word segmentation (jieba): see docs/prohibited-goods.md.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..problems import ERROR, WARNING, Problem
from .rules import IntakeRules
from .text import fold

PROHIBITED, RESTRICTED, ALLOWED = 0, 1, 2
_NON_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff]+")
_LOOSE_SPACE = re.compile(r"(?<![0-9a-z]) | (?![0-9a-z])")


@lru_cache(maxsize=65536)
def goods_key(text: str) -> str:
    """compact(), but one space is kept between two Latin words or numbers ("stun gun", "cash box")."""
    spaced = _NON_WORD.sub(" ", fold(text)).strip()
    return _LOOSE_SPACE.sub("", spaced) if " " in spaced else spaced


def _latin(ch: str) -> bool:
    return ch < "\x80" and ch.isalnum()


def _automaton(rules: IntakeRules):
    import ahocorasick

    table: dict[str, list[tuple[int, str, str]]] = {}

    def add(term: str, kind: int, note: str) -> None:
        entries = table.setdefault(goods_key(term), [])
        if all(k != kind for k, _, _ in entries):  # 铯137 and 铯-137 are one keyword
            entries.append((kind, term, note))

    for term, category in rules.prohibited:
        add(term, PROHIBITED, category)
    for term, reason in rules.restricted:
        add(term, RESTRICTED, reason)
    for term in rules.allowed:
        add(term, ALLOWED, "")
    auto = ahocorasick.Automaton()
    for key, entries in table.items():
        if key:
            auto.add_word(key, (len(key), tuple(entries)))
    auto.make_automaton()
    return auto


def goods_hits(name: str, rules: IntakeRules) -> tuple[tuple[int, str, str], ...]:
    """(kind, term, category/reason) for every hit not covered by an allowed term or a longer hit."""
    text = goods_key(name)
    if not text:
        return ()
    return _hits_cached(text, rules)


@lru_cache(maxsize=65536)
def _hits_cached(text: str, rules: IntakeRules) -> tuple[tuple[int, str, str], ...]:
    auto = rules.cached("goods_automaton", lambda: _automaton(rules))
    spans: list[tuple[int, int, int, str, str]] = []
    last = len(text) - 1
    for end, (length, entries) in auto.iter(text):
        start = end - length + 1
        if (start and _latin(text[start]) and _latin(text[start - 1])) or (
                end < last and _latin(text[end]) and _latin(text[end + 1])):
            continue  # inside a longer Latin word or number
        for kind, term, note in entries:
            spans.append((start, end + 1, kind, term, note))
    allowed = [(s, e) for s, e, k, _, _ in spans if k == ALLOWED]
    flagged = [sp for sp in spans if sp[2] != ALLOWED
               and not any(a_s <= sp[0] and sp[1] <= a_e for a_s, a_e in allowed)]
    kept = []
    for sp in flagged:  # drop a hit inside a longer (or more severe) hit: 锂电 inside 锂电池
        if any(o is not sp and o[0] <= sp[0] and sp[1] <= o[1] and (o[1] - o[0], -o[2]) > (sp[1] - sp[0], -sp[2])
               for o in flagged):
            continue
        kept.append((sp[2], sp[3], sp[4]))
    return tuple(dict.fromkeys(kept))


def describe_category(category: str) -> str:
    """'5 易燃液体' → '《禁止寄递物品指导目录》第5类：易燃液体'."""
    number, _, label = category.partition(" ")
    if number.isdigit():
        return f"《禁止寄递物品指导目录》第{number}类：{label.strip()}" if label.strip() else f"《禁止寄递物品指导目录》第{number}类"
    return f"禁寄类别：{category}"


def check_goods(name: object, rules: IntakeRules) -> list[Problem]:
    """PROHIBITED_GOODS errors and RESTRICTED_GOODS warnings for one goods name."""
    if name is None:
        return []
    return list(_goods_problems(str(name), rules))


def goods_problems(name: str, rules: IntakeRules) -> tuple[Problem, ...]:
    """``check_goods`` for a name that is text, as the cached tuple (the row check extends its list with it)."""
    return _goods_problems(name, rules)


@lru_cache(maxsize=65536)
def _goods_problems(name: str, rules: IntakeRules) -> tuple[Problem, ...]:
    hits = goods_hits(name, rules)
    problems = []
    banned = [(t, c) for k, t, c in hits if k == PROHIBITED]
    if banned:
        found = "、".join(f"“{term}”（{describe_category(category)}）" for term, category in banned)
        problems.append(Problem(
            "PROHIBITED_GOODS", ERROR, "goods_name",
            f"货物名称含禁寄物品{found}，不能寄递；请与客户核实货物，如确属合法商品，请把该商品名加入允许清单。",
        ))
    limited = [(t, r) for k, t, r in hits if k == RESTRICTED]
    if limited and not banned:
        found = "、".join(f"“{term}”（{reason}）" for term, reason in limited)
        problems.append(Problem(
            "RESTRICTED_GOODS", WARNING, "goods_name",
            f"货物名称含限运物品{found}，不能走航空件，请选择陆运或按承运商要求处理。",
        ))
    return tuple(problems)
