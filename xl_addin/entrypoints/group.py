"""The command group every command module registers with."""

from __future__ import annotations

from pathlib import Path

import click

from xl_addin import __version__
from xl_addin.entrypoints.common import Options


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="xl-logistics")
def cli() -> None:
    """xl-logistics: 物流订单标准化处理 — order intake, waybills, tracking, exceptions and closing,
    run on the desk's Excel workbooks.

    Every command takes --desk DIR (default: the current folder), --json and --now ISO after its name.
    Exit codes: 0 done, 1 done but rows have errors, 2 could not do the job.
    """


def setup_logs(opts: Options) -> None:
    """Log into the desk when there is one, else into the user's folder."""
    from xl_addin.desk import STATE_DIRNAME
    from xl_addin.logs import default_log_dir, setup_logging

    state = Path(opts.desk) / STATE_DIRNAME
    setup_logging(state / "logs" if state.is_dir() else default_log_dir())
