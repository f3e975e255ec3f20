"""The Excel add-in: build it from text sources, install it (Windows)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xl_addin.entrypoints.common import Options, common_options, emit
from xl_addin.entrypoints.group import cli
from xl_addin.errors import EXIT_FAILED, EXIT_OK


@cli.group()
def addin() -> None:
    """The Excel add-in (ribbon tab 物流助手 and the =TRACK worksheet functions)."""


@addin.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the add-in (default: dist/xl-logistics.xlam in the current folder).")
@common_options
def build(out: Path | None, opts: Options) -> int:
    """Build xl-logistics.xlam from macros/ (ribbon XML, VBA) and the installed xlwings; works on any OS.

    Fails with exit code 2 and a message when a source (ribbon XML, VBA module) is missing.
    """
    from xl_addin.excel.addin_build import build_addin, xlwings_vba

    path = build_addin(out)
    version = xlwings_vba()[0]
    emit(opts, {"path": str(path), "xlwings": version}, f"已生成加载项: {path}（xlwings {version}）")
    return EXIT_OK


@addin.command()
@click.option("--addin", "addin_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A built add-in to install (default: build one now).")
@common_options
def install(addin_path: Path | None, opts: Options) -> int:
    """Put the add-in where Excel loads it and write its settings (Windows only).

    The settings (Python interpreter) go to %USERPROFILE%\\.xl_logistics\\xl_logistics.conf in the
    Windows ANSI code page; the user's own xlwings.conf is left alone.
    """
    if not sys.platform.startswith("win"):
        click.echo("addin install 只能在装有 Excel 的 Windows 电脑上运行：它把加载项放进 Excel 的加载项文件夹，"
                   "并写入加载项自己的配置（Python 解释器；不改动用户的 xlwings.conf）。\n"
                   "在这台电脑上可以运行 xl-logistics addin build 生成 .xlam，再拷到 Windows 上安装；"
                   "步骤见 docs/excel.md。", err=True)
        return EXIT_FAILED
    import tempfile  # pragma: no cover - Windows only

    from xl_addin.excel.addin_build import DEFAULT_NAME, build_addin
    from xl_addin.excel.addin_install import install_for_this_user

    with tempfile.TemporaryDirectory() as tmp:  # a fresh build is copied into XLSTART, not left behind
        result = install_for_this_user(addin_path or build_addin(Path(tmp) / DEFAULT_NAME))  # pragma: no cover
    emit(opts, result.as_dict(), f"已安装: {result.addin}\n加载项配置: {result.config}\n"
         "请重新启动 Excel，功能区会出现“物流助手”选项卡。")  # pragma: no cover
    return EXIT_OK  # pragma: no cover
