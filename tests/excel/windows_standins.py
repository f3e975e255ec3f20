"""Load the real xlwings as it loads on Windows, in a Linux process of its own.

On Windows ``xlwings/__init__.py`` imports ``xlwings._xlwindows`` (pywin32 + ctypes' Windows
DLLs) and then binds ``xw.func``/``xw.arg`` to ``xlwings.udfs.xlfunc``/``xlarg``. Here we give it
what it imports from Windows and nothing more:

- ``pywintypes``: ``com_error``, ``error``, ``TimeType`` (pywin32 hands COM dates to Python as
  ``pywintypes.datetime``, a ``datetime`` subclass) and ``IID`` (a comparable GUID);
- ``pythoncom``: ``CoInitialize``, ``IID_IDispatch`` and the thread-marshalling pair that
  ``xlwings.udfs.ComRange`` uses (one thread here, so marshalling hands the object through);
- ``win32com.client.Dispatch``: pywin32's Dispatch of an object that already is a dispatch wrapper
  returns a wrapper of the same object — here the object itself;
- ``win32timezone.TimeZoneInfo.utc()`` (xlwings stamps dates for COM with it);
- ``win32process.GetWindowThreadProcessId`` (xlwings asks an App's process id from its window);
- the Windows-only modules and DLLs that are only imported or looked up at import time
  (win32api, win32con, win32gui, win32process, win32timezone, win32event, win32com.server.*,
  ``ctypes.windll``/``oledll``/``PyDLL``): inert placeholders. A test that reached one of them
  would get a placeholder back, not Excel behaviour, so the tests assert on values only.

Everything else — ``xlwings.udfs`` (``xlfunc``, ``xlarg``, ``call_udf``, ``generate_vba_wrapper``),
``xlwings._xlwindows`` (Range, Book, value cleaning), ``xlwings.conversion`` — is xlwings' own code.
Import this module first, in a subprocess: it sets ``sys.platform`` to ``win32`` for the process.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import sys
import types


class Inert:
    """Any attribute, any call: returns another placeholder. Only for names used at import time."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Inert()

    def __call__(self, *args, **kwargs):
        return Inert()


class _InertModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Inert


class com_error(Exception):
    """pywintypes.com_error(hresult, text, excepinfo, argerror)."""

    @property
    def hresult(self):
        return self.args[0] if self.args else None


class TimeType(dt.datetime):
    """pywintypes.datetime: what a COM date arrives as."""


class IID(str):
    def __new__(cls, text):
        return super().__new__(cls, text.upper())


RANGE_IID = "{00020846-0000-0000-C000-000000000046}"  # Excel's Range interface (what is_range_instance asks)


def _module(name, **attrs):
    module = _InertModule(name) if attrs.pop("_inert", False) else types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def install() -> None:
    if sys.modules.get("pywintypes") is not None and getattr(sys.modules["pywintypes"], "IID", None) is IID:
        return
    assert "xlwings" not in sys.modules, "import windows_standins before xlwings"
    _module("pywintypes", com_error=com_error, error=com_error, TimeType=TimeType, IID=IID)
    idispatch = IID("{00020400-0000-0000-C000-000000000046}")
    _module("pythoncom", __file__="pythoncom.dll", CoInitialize=lambda: None, IID_IDispatch=idispatch,
        TypeIIDs={idispatch: type("PyIDispatch", (), {})},
        CoMarshalInterThreadInterfaceInStream=lambda iid, obj: obj,
        CoGetInterfaceAndReleaseStream=lambda stream, iid: stream, _inert=True)
    win32com = _module("win32com", _inert=True)
    client = _module("win32com.client", Dispatch=lambda obj, *a, **k: obj, DispatchEx=Inert, CDispatch=Inert,
                     CoClassBaseClass=Inert, DispatchBaseClass=Inert, _inert=True)
    win32com.client = client
    client.gencache = _module("win32com.client.gencache", _inert=True)
    server = _module("win32com.server", _inert=True)
    win32com.server = server
    for sub in ("dispatcher", "policy", "util"):
        setattr(server, sub, _module(f"win32com.server.{sub}", _inert=True))
    # win32timezone.TimeZoneInfo.utc(): the UTC tzinfo xlwings stamps on dates it hands to COM
    _module("win32timezone", TimeZoneInfo=type("TimeZoneInfo", (), {"utc": staticmethod(lambda: dt.timezone.utc)}))
    for name in ("win32api", "win32con", "win32gui", "win32event"):
        _module(name, _inert=True)
    # win32process.GetWindowThreadProcessId(hwnd) -> (thread id, process id): one Excel process per window here
    _module("win32process", GetWindowThreadProcessId=lambda hwnd: (int(hwnd), 10_000 + int(hwnd)), _inert=True)
    ctypes.windll = ctypes.oledll = Inert()
    ctypes.PyDLL = Inert
    # the standard library picks its platform parts at import: load them as Linux ones first
    import asyncio, concurrent.futures, locale, pathlib, shlex, shutil, subprocess, tempfile  # noqa: E401,F401
    sys.platform = "win32"


install()
