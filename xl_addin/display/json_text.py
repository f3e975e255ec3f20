"""Indented JSON text, the same characters as ``json.dumps(o, ensure_ascii=False, indent=n, default=str)``.

Why: with ``indent`` set, the standard library falls back to its pure-Python encoder (a chain of
generators per value); a 20,000-row ``validate --json`` report spent a quarter of the whole
command there. This writer walks dicts, lists and scalars directly and uses the C string escaper,
so the text is identical (tests compare it with ``json.dumps`` on the report's shapes and on edge
values: empty containers, tuples, NaN/Infinity, non-string keys, values shown through ``str``).
"""

from __future__ import annotations

import json
from typing import Any

_STR = json.encoder.encode_basestring  # the C escaper when available: what json.dumps uses for ensure_ascii=False
_INT = int.__repr__
_FLOAT = float.__repr__
_INF = float("inf")


def _float(o: float) -> str:
    if o != o:
        return "NaN"
    if o == _INF:
        return "Infinity"
    if o == -_INF:
        return "-Infinity"
    return _FLOAT(o)


def _scalar(o: Any) -> str | None:
    """The text of a scalar as json writes it, or None for a container or another object."""
    if isinstance(o, str):
        return _STR(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return _INT(o)
    if isinstance(o, float):
        return _float(o)
    return None


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if isinstance(k, float):
        return _float(k)
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, int):
        return _INT(k)
    raise TypeError(f"keys must be str, int, float, bool or None, not {k.__class__.__name__}")


def dumps_indented(o: Any, indent: int = 2, level: int = 0) -> str:
    """``json.dumps(o, ensure_ascii=False, indent=indent, default=str)``, its lines indented by ``level``
    steps more (what ``text.replace("\\n", "\\n" + " " * indent * level)`` of it gives)."""
    out: list[str] = []
    _write(o, "\n" + " " * (indent * level), " " * indent, out)
    return "".join(out)


def _write(o: Any, nl: str, step: str, out: list[str]) -> None:
    cls = o.__class__
    if cls is str:
        out.append(_STR(o))
    elif cls is dict:
        _dict(o, nl, step, out)
    elif cls is list or cls is tuple:
        _list(o, nl, step, out)
    else:
        text = _scalar(o)
        if text is not None:
            out.append(text)
        elif isinstance(o, (list, tuple)):
            _list(o, nl, step, out)
        elif isinstance(o, dict):
            _dict(o, nl, step, out)
        else:
            out.append(_STR(str(o)))  # default=str: the object's text, as a JSON string


def _dict(o: dict, nl: str, step: str, out: list[str]) -> None:
    if not o:
        out.append("{}")
        return
    inner = nl + step
    sep = "{" + inner
    append = out.append
    for k, v in o.items():
        cls = v.__class__
        key = _STR(k if k.__class__ is str else _key(k))
        if cls is str:
            append(sep + key + ": " + _STR(v))
        elif v is None:
            append(sep + key + ": null")
        elif cls is int:
            append(sep + key + ": " + _INT(v))
        elif cls is bool:
            append(sep + key + (": true" if v else ": false"))
        else:
            append(sep + key + ": ")
            _write(v, inner, step, out)
        sep = "," + inner
    append(nl + "}")


def _list(o, nl: str, step: str, out: list[str]) -> None:
    if not o:
        out.append("[]")
        return
    inner = nl + step
    sep = "[" + inner
    append = out.append
    for v in o:
        if v.__class__ is str:
            append(sep + _STR(v))
        else:
            append(sep)
            _write(v, inner, step, out)
        sep = "," + inner
    append(nl + "]")
