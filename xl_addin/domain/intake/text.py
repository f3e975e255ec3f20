"""Text normalisation shared by the intake rules.

People type full-width forms, traditional characters and stray spaces; every
rule compares text only after folding those away, so that 手 槍, ＢＢ彈 and
手枪 look the same to a keyword list.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache

# Anything that is not a letter, digit or CJK character: spaces, dashes, dots,
# brackets, punctuation, zero-width characters.
_NON_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff]+")
_WHITESPACE = re.compile(r"\s+")
# Invisible characters pasted from web pages and chat apps.
INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (zhconv is imported only when needed).

    Most text is already simplified. zhconv's longest-match conversion (slow, per character)
    can only change a text that holds a character converting on its own, or a phrase that
    converts as a whole (反覆 → 反复); a text with neither is returned as it is.
    """
    if text.isascii():
        return text
    chars, either, phrases = _converting()
    found = either.intersection(text)  # one pass over the text; usually a character or two
    if not found:
        return text
    if chars.isdisjoint(found) and not any(phrase in text for ch in found for phrase in phrases.get(ch, ())):
        return text
    import zhconv  # local import: keep package import light for Excel clicks

    return zhconv.convert(text, "zh-cn")


_converting_parts: tuple | None = None


def _converting():
    """(converting characters, those and the first characters of converting phrases, the phrases by
    first character),
    built once on first use."""
    global _converting_parts
    if _converting_parts is None:
        from zhconv.zhconv import getdict

        table = getdict("zh-cn")
        chars = frozenset(k for k, v in table.items() if len(k) == 1 and k != v)
        phrases: dict[str, list[str]] = {}
        for key, value in table.items():
            if key != value and not any(c in chars for c in key):
                phrases.setdefault(key[0], []).append(key)
        _converting_parts = (chars, chars | frozenset(phrases), {k: tuple(v) for k, v in phrases.items()})
    return _converting_parts


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """NFKC + simplified + lower case; spaces kept (for splitting)."""
    return unfolded_case(text).lower()


def unfolded_case(text: str) -> str:
    """``fold`` without the lower-casing (an address keeps its writer's capitals from it)."""
    return to_simplified(INVISIBLE.sub("", unicodedata.normalize("NFKC", text)))


@lru_cache(maxsize=65536)
def compact(text: str) -> str:
    """fold() and then drop every separator, so 手-枪 and 手 枪 read 手枪."""
    return _NON_WORD.sub("", fold(text))


def is_blank(value: object) -> bool:
    """An empty cell: None, '', spaces only, or NaN (from pandas)."""
    if value is None or value == "":
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return False


def cell_text(value: object) -> str:
    """A cell as text; integral floats lose their '.0' (Excel stores typed numbers as floats)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.strip()
    return str(value).strip()
