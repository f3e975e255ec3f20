"""xlwings' own UDF machinery (``xlfunc``/``xlarg``, ``generate_vba_wrapper``) on any OS.

On Windows ``xlwings/__init__.py`` binds ``xw.func``/``xw.arg``/``xw.ret``/``xw.sub`` to
``xlwings.udfs.xlfunc``/``xlarg``/``xlret``/``xlsub``; elsewhere they are no-ops and
``xlwings.udfs`` cannot even be imported, because it imports three pywin32 modules at the top
(``pythoncom``, ``pywintypes``, ``win32com.client``). To build the add-in on Linux with xlwings'
own generator we do what xlwings does on Windows: bind the real decorators, then import our UDF
module. Where pywin32 is missing, the three modules get inert placeholders that only satisfy
those imports (nothing in decorating or generating calls them). Use this in a process of its own
(``python -m xl_addin.excel.udf_vba``): it changes the xlwings module for the whole process.
"""

from __future__ import annotations

import sys
import types

PYWIN32_MODULES = ("pythoncom", "pywintypes", "win32com", "win32com.client")


class _ComError(Exception):
    """pywintypes.com_error: raised by COM calls (none happen while decorating or generating)."""


def _placeholders() -> dict[str, types.ModuleType]:
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: None  # the UDF thread pool's initializer (never started here)
    pywintypes = types.ModuleType("pywintypes")
    pywintypes.com_error = _ComError
    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")

    def dispatch(obj, *args, **kwargs):  # a COM object is already a dispatch wrapper here
        return obj

    client.Dispatch = dispatch
    win32com.client = client
    return {"pythoncom": pythoncom, "pywintypes": pywintypes, "win32com": win32com, "win32com.client": client}


def bind_real_decorators():
    """Import ``xlwings.udfs`` and bind its decorators onto ``xlwings`` as on Windows; returns ``xlwings.udfs``.

    Must run before ``xl_addin.udfs`` is imported (decorators apply at import time).
    """
    if "xl_addin.udfs" in sys.modules and not hasattr(sys.modules["xl_addin.udfs"].TRACK, "__xlfunc__"):
        raise RuntimeError("xl_addin.udfs was imported with the no-op decorators; bind them first")
    try:
        import pythoncom  # noqa: F401
        import pywintypes  # noqa: F401
        import win32com.client  # noqa: F401
    except ImportError:
        for name, module in _placeholders().items():
            sys.modules.setdefault(name, module)
    import xlwings
    import xlwings.udfs as real

    xlwings.func, xlwings.arg, xlwings.ret = real.xlfunc, real.xlarg, real.xlret
    xlwings.sub = xlwings.script = real.xlsub
    return real
