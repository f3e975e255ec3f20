"""pip install, then addin build: the wheel carries the add-in's sources, and the build works from there.

Slow: builds a wheel from a copy of the working tree (no network: the build backend is the test
environment's own setuptools, ``--no-build-isolation``), installs it into a fresh virtual
environment (its dependencies come from this environment's site-packages through a .pth file, so
nothing is downloaded), and runs the installed ``xl-logistics`` console script.
"""

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".venv", ".git", "dist", "build", "*.egg-info",
                                                             "__pycache__", ".pytest_cache", ".home"))
    wheels = base / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(wheels), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel, = wheels.glob("xl_logistics-*.whl")
    env = base / "fresh"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    r = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    # the dependencies (xlwings, pyopenvba, lxml, ...) from this environment; our own package from the wheel only
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return {"wheel": wheel, "python": python, "script": env / "bin" / "xl-logistics", "site": site}


def test_the_wheel_carries_the_addin_sources(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    for source in (REPO / "macros").glob("*.bas"):
        assert f"xl_addin/macros/{source.name}" in names
    assert "xl_addin/macros/customUI14.xml" in names


def test_installed_package_is_the_wheels_not_the_checkout(installed):
    r = subprocess.run([str(installed["python"]), "-c", "import xl_addin; print(xl_addin.__file__)"],
                       capture_output=True, text=True, cwd=installed["site"].parent)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).is_relative_to(installed["site"])


def test_addin_build_from_the_installed_package_writes_into_the_current_folder(installed, tmp_path):
    r = subprocess.run([str(installed["script"]), "addin", "build", "--json"], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path / "dist" / "xl-logistics.xlam"
    assert out.is_file() and zipfile.is_zipfile(out)
    assert not list(installed["site"].rglob("*.xlam"))  # never into site-packages
    with zipfile.ZipFile(out) as z:
        assert z.read("customUI/customUI14.xml") == (REPO / "macros" / "customUI14.xml").read_bytes()
    from oletools import olevba

    parser = olevba.VBA_Parser(str(out))
    try:
        modules = {Path(name).stem for _, _, name, _ in parser.extract_macros()}
    finally:
        parser.close()
    assert {"xlwings", "XlLogistics", "XlLogisticsUDFs", "XlLogisticsHelp"} <= modules


def test_a_missing_source_fails_loudly(installed, tmp_path):
    ribbon = installed["site"] / "xl_addin" / "macros" / "customUI14.xml"
    kept = ribbon.read_bytes()
    ribbon.unlink()
    try:
        r = subprocess.run([str(installed["script"]), "addin", "build"], capture_output=True, text=True, cwd=tmp_path)
    finally:
        ribbon.write_bytes(kept)
    assert r.returncode == 2
    assert "customUI14.xml" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "dist" / "xl-logistics.xlam").exists()
