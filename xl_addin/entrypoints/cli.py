"""The command line: a thin layer over the services, for staff and for the scheduler.

Exit codes: 0 done, 1 done but some rows have errors, 2 could not do the job.
Each stage's commands live in their own module and register with the group.
"""

from __future__ import annotations

import sys

import click

from xl_addin.entrypoints import (  # noqa: F401  (each module registers its commands)
    addin_commands, case_commands, closing_commands, db_commands, desk_commands, import_commands,
    intake_commands, push_commands, schedule_commands, tracking_commands, waybill_commands,
)
from xl_addin.entrypoints import click_zh
from xl_addin.entrypoints.common import report_unexpected, report_user_error
from xl_addin.entrypoints.group import cli
from xl_addin.errors import EXIT_FAILED, UserError

click_zh.install()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: one boundary turns user errors into messages and exit codes."""
    try:
        result = cli.main(args=argv, prog_name="xl-logistics", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        click_zh.show(exc)
        return EXIT_FAILED
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
