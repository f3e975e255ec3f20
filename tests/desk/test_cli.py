"""The command line as staff and the scheduler use it: real subprocesses, real desks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from xl_addin import __version__
from support.cli_commands import all_commands

ROOT = Path(__file__).resolve().parents[2]


def run(*args, cwd=None, env=None, home=None):
    import tempfile

    home = home or tempfile.mkdtemp(prefix="xl-home-")
    full_env = dict(os.environ, XL_LOGISTICS_HOME=home, **(env or {}))
    return subprocess.run([sys.executable, "-m", "xl_addin", *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env)


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


@pytest.mark.parametrize("path", [p for p, _ in all_commands()], ids=lambda p: " ".join(p))
def test_every_command_has_help_and_common_options(path):
    result = run(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    cmd = dict((tuple(p), c) for p, c in all_commands())[tuple(path)]
    if not isinstance(cmd, click.Group):
        for option in ("--desk", "--json", "--now"):
            assert option in result.stdout, f"{path} lacks {option}"


def test_docs_cli_page_matches_the_code():
    probe = "import sys; from xl_addin.entrypoints.cli_docs import render; sys.stdout.write(render())"
    fresh = subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout.decode("utf-8")
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == fresh, "docs/cli.md is stale: run python -m xl_addin.entrypoints.cli_docs docs/cli.md"


def test_unknown_command_exits_2():
    assert run("frobnicate").returncode == 2


def test_init_then_doctor_reports_a_healthy_desk(tmp_path):
    desk = tmp_path / "台账"
    result = run("init", str(desk), "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)["created"]
    assert "订单确认单.xlsx" in created and "xl-logistics.toml" in created
    doc = run("doctor", "--desk", str(desk), "--json")
    report = json.loads(doc.stdout)
    assert doc.returncode == 0, doc.stdout
    assert report["healthy"] is True and report["errors"] == 0
    assert any(f["check"] == "workbook:orders" and f["status"] == "ok" for f in report["findings"])


def test_init_refuses_an_existing_desk_and_force_keeps_a_backup(tmp_path):
    desk = tmp_path / "d"
    assert run("init", str(desk)).returncode == 0
    again = run("init", str(desk))
    assert again.returncode == 2
    assert "--force" in again.stderr
    forced = run("init", str(desk), "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    backup = Path(json.loads(forced.stdout)["backup"])
    assert (backup / "订单确认单.xlsx").exists() and (backup / "xl-logistics.toml").exists()


def test_doctor_on_a_folder_that_is_no_desk_exits_1_and_says_what_to_do(tmp_path):
    result = run("doctor", "--desk", str(tmp_path), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    assert any("xl-logistics init" in f["message"] for f in report["findings"])


def test_doctor_flags_a_missing_workbook(tmp_path):
    desk = tmp_path / "d"
    run("init", str(desk))
    (desk / "物流单号绑定表.xlsx").unlink()
    report = json.loads(run("doctor", "--desk", str(desk), "--json").stdout)
    assert any(f["check"] == "workbook:bindings" and f["status"] == "error" for f in report["findings"])


def test_bad_now_is_a_clear_error(tmp_path):
    result = run("doctor", "--desk", str(tmp_path), "--now", "yesterday")
    assert result.returncode == 2
    assert "--now" in result.stderr


def test_json_error_shape(tmp_path):
    result = run("validate", "--desk", str(tmp_path), "--json")
    assert result.returncode == 2
    assert "error" in json.loads(result.stdout)


def test_scheduled_jobs_leave_a_last_run_line_even_when_they_fail(tmp_path):
    from xl_addin.adapters.store import open_store

    desk = tmp_path / "d"
    run("init", str(desk))
    result = run("refresh", "--desk", str(desk), env={"KUAIDI100_CUSTOMER": "", "KUAIDI100_KEY": ""})
    assert result.returncode == 2
    assert "KUAIDI100_CUSTOMER" in result.stderr
    with open_store(desk / ".xl-logistics" / "state.sqlite3") as store:
        runs = {r["job"]: r for r in store.last_runs()}
    assert runs["refresh"]["status"] == "failed"
    assert "KUAIDI100" in runs["refresh"]["summary"]
    assert (desk / "最近运行.xlsx").exists()


@pytest.mark.parametrize("command", [["schedule", "--print-cron"], ["archive", "--month", "2026-11"],
                                     ["summary", "--week", "2026-W48"], ["followups"]])
def test_a_bad_desk_timezone_stops_the_command_with_the_key_named(tmp_path, command):
    desk = tmp_path / "d"
    assert run("init", str(desk)).returncode == 0
    config = desk / "xl-logistics.toml"
    text = config.read_text(encoding="utf-8")
    assert 'timezone = "Asia/Shanghai"' in text
    config.write_text(text.replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Shangai"'), encoding="utf-8")
    result = run(*command, "--desk", str(desk))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "[desk] timezone" in result.stderr and "Asia/Shangai" in result.stderr
    assert "Traceback" not in result.stderr
