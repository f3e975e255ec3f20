"""The command line: a thin layer over the services, for staff and for the scheduler.

Exit codes: 0 done, 1 done but some rows have errors, 2 could not do the job.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xl_addin import __version__
from xl_addin.entrypoints.common import (
    Options, common_options, emit, report_unexpected, report_user_error,
)
from xl_addin.errors import EXIT_FAILED, EXIT_OK, EXIT_ROW_ERRORS, UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="xl-logistics")
def cli() -> None:
    """xl-logistics: 物流订单标准化处理 — order intake, waybills, tracking, exceptions and closing,
    run on the desk's Excel workbooks.

    Every command takes --desk DIR (default: the current folder), --json and --now ISO after its name.
    Exit codes: 0 done, 1 done but rows have errors, 2 could not do the job.
    """


def _setup_logs(opts: Options) -> None:
    from xl_addin.desk import STATE_DIRNAME
    from xl_addin.logs import default_log_dir, setup_logging

    state = Path(opts.desk) / STATE_DIRNAME
    setup_logging(state / "logs" if state.is_dir() else default_log_dir())


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option("--force", is_flag=True, help="Re-create config and workbooks of an existing desk (old ones are backed up; the state store is kept).")
@common_options
def init(directory: Path | None, force: bool, opts: Options) -> int:
    """Create a desk: the four workbooks, xl-logistics.toml and the state store."""
    from xl_addin.services.desk_setup import init_desk

    root = directory or opts.desk
    result = init_desk(root, opts.now(), force=force)
    _setup_logs(Options(root, opts.json, opts.now_text))
    lines = [f"已创建台账: {result.desk}"] + [f"  {name}" for name in result.created]
    if result.backup:
        lines.append(f"旧文件已备份到: {result.backup}")
    if result.store_kept:
        lines.append("状态库已保留（运单号永不重复）")
    lines.append("下一步: xl-logistics doctor --desk " + str(result.desk))
    emit(opts, result.as_dict(), "\n".join(lines))
    return EXIT_OK


@cli.command()
@common_options
def doctor(opts: Options) -> int:
    """Check the desk: files present, headers recognised, state store healthy, config valid, what is configured."""
    from xl_addin.services.doctor import examine_desk

    _setup_logs(opts)
    report = examine_desk(opts.desk, opts.now())
    marks = {"ok": "✓", "warning": "!", "error": "✗"}

    def text() -> str:
        lines = [f"台账: {report.desk}"]
        lines += [f" {marks[f.status]} {f.message}" for f in report.findings]
        lines.append("台账正常" if report.healthy else "发现问题，请按上面的提示处理")
        return "\n".join(lines)

    emit(opts, report.as_dict(), text)
    return EXIT_OK if report.healthy else EXIT_ROW_ERRORS


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: one boundary turns user errors into messages and exit codes."""
    try:
        result = cli.main(args=argv, prog_name="xl-logistics", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return EXIT_FAILED
    except click.exceptions.Abort:
        click.echo("已中止", err=True)
        return EXIT_FAILED
    except UserError as exc:
        return report_user_error(exc)
    except KeyboardInterrupt:
        click.echo("已中止", err=True)
        return EXIT_FAILED
    except Exception as exc:  # the one place unexpected errors are caught
        from xl_addin import logs
        return report_unexpected(exc, logs._configured)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
