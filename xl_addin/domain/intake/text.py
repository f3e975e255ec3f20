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
    """Traditional → simplified Chinese (zhconv is imported only when needed)."""
    if text.isascii():
        return text
    import zhconv  # local import: keep package import light for Excel clicks

    return zhconv.convert(text, "zh-cn")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """NFKC + simplified + lower case; spaces kept (for splitting)."""
    return to_simplified(INVISIBLE.sub("", unicodedata.normalize("NFKC", text))).lower()


@lru_cache(maxsize=65536)
def compact(text: str) -> str:
    """fold() and then drop every separator, so 手-枪 and 手 枪 read 手枪."""
    return _NON_WORD.sub("", fold(text))


def squeeze_spaces(text: str) -> str:
    return _WHITESPACE.sub("", text)


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
