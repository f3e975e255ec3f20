"""The domain imports no Excel, HTTP, database or mail module; the package is light to import."""

import json
import subprocess
import sys

FORBIDDEN_IN_DOMAIN = [
    "openpyxl", "xlwings", "python_calamine", "requests", "urllib3", "http.client", "sqlite3",
    "psycopg", "smtplib", "aiosmtpd", "waitress", "pandas", "lxml",
]

PROBE = r"""
import importlib, json, pkgutil, sys
import xl_addin.domain as domain
names = []
for info in pkgutil.walk_packages(domain.__path__, domain.__name__ + "."):
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({"modules": names, "loaded": sorted(sys.modules)}))
"""


def test_domain_imports_no_io_modules():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    assert len(data["modules"]) >= 1
    loaded = set(data["loaded"])
    offenders = [m for m in FORBIDDEN_IN_DOMAIN if m in loaded]
    assert offenders == [], f"the domain pulled in {offenders}"


def test_cli_import_is_light():
    """Excel imports the package on every click: the CLI module must not drag in workbook or data libraries."""
    probe = "import sys, xl_addin.entrypoints.cli; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split())
    assert not {"openpyxl", "pandas", "python_calamine", "requests", "lxml"} & loaded
