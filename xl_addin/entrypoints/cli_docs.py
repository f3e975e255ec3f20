"""Writes docs/cli.md from the commands' own --help texts, so the docs cannot drift from the code.

Run: python -m xl_addin.entrypoints.cli_docs docs/cli.md
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


def render() -> str:
    from xl_addin.entrypoints.cli import cli

    ctx = click.Context(cli, info_name="xl-logistics", terminal_width=100, max_content_width=100)
    parts = ["# xl-logistics command line", "",
             "Generated from each command's `--help` by `python -m xl_addin.entrypoints.cli_docs docs/cli.md`;",
             "a test fails when this page and the code disagree.", "",
             "```text", cli.get_help(ctx), "```", ""]

    def walk(group: click.Group, parent: click.Context, prefix: str) -> None:
        for name in sorted(group.list_commands(parent)):
            command = group.get_command(parent, name)
            sub = click.Context(command, info_name=name, parent=parent, terminal_width=100, max_content_width=100)
            parts.extend([f"## `{prefix}{name}`", "", "```text", command.get_help(sub), "```", ""])
            if isinstance(command, click.Group):
                walk(command, sub, f"{prefix}{name} ")

    walk(cli, ctx, "")
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/cli.md")
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
