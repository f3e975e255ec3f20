"""Every command of the CLI, walked through click's own groups."""

from __future__ import annotations

import click

from xl_addin.entrypoints.cli import cli

def all_commands():
    ctx = click.Context(cli)
    out = []

    def walk(group, prefix):
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            out.append((prefix + [name], cmd))
            if isinstance(cmd, click.Group):
                walk(cmd, prefix + [name])

    walk(cli, [])
    return out
