"""Packaging hook: the add-in's text sources in ``macros/`` travel inside the wheel.

``macros/`` stays at the top of the repository (the project's layout); ``build_py`` copies its
``*.bas`` and ``*.xml`` into ``xl_addin/macros/`` of the built package, where
``xl_addin.excel.addin_build`` looks first. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MACROS = Path(__file__).resolve().parent / "macros"


class build_py_with_macros(build_py):
    def run(self):
        super().run()
        sources = sorted(MACROS.glob("*.bas")) + sorted(MACROS.glob("*.xml"))
        if not sources:
            raise SystemExit(f"macros/ has no VBA or ribbon sources: {MACROS}")
        target = Path(self.build_lib) / "xl_addin" / "macros"
        target.mkdir(parents=True, exist_ok=True)
        for path in sources:
            shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": build_py_with_macros})
