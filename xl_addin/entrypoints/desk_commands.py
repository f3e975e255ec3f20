"""Commands that set up and examine a desk: init, doctor."""

from __future__ import annotations

from pathlib import Path

import click

from xl_addin.entrypoints.common import Options, common_options, emit
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_OK, EXIT_ROW_ERRORS


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option("--force", is_flag=True, help="Re-create config and workbooks of an existing desk (old ones are backed up; the state store is kept).")
@click.option("--sandbox", "with_sandbox", is_flag=True,
              help="Track against the local Kuaidi100 sandbox (start it with: xl-logistics sandbox --desk DIR).")
@click.option("--sandbox-port", type=click.IntRange(1, 65535), default=8765, show_default=True,
              help="Port of the local sandbox on 127.0.0.1 (with --sandbox).")
@common_options
def init(directory: Path | None, force: bool, with_sandbox: bool, sandbox_port: int, opts: Options) -> int:
    """Create a desk: the four workbooks, xl-logistics.toml and the state store.

    With --sandbox the desk tracks against a local Kuaidi100 look-alike: run `xl-logistics sandbox --desk DIR`
    in a second window, then allocate and refresh as usual (no account, no other settings)."""
    from xl_addin.services.desk.setup import init_desk, sandbox_config

    root = directory or opts.desk
    result = init_desk(root, opts.now(), force=force, config_text=sandbox_config(sandbox_port) if with_sandbox else None)
    setup_logs(Options(root, opts.json, opts.now_text))
    lines = [f"已创建台账: {result.desk}"] + [f"  {name}" for name in result.created]
    if result.backup:
        lines.append(f"旧文件已备份到: {result.backup}")
    if result.store_kept:
        lines.append("状态库已保留（运单号永不重复）")
    if with_sandbox:
        lines.append(f"物流跟踪使用本地沙箱 http://127.0.0.1:{sandbox_port}：请在另一个窗口运行 "
                     f"xl-logistics sandbox --desk {result.desk}（保持窗口打开），之后 refresh 即可查询")
    lines.append("下一步: xl-logistics doctor --desk " + str(result.desk))
    emit(opts, result.as_dict(), "\n".join(lines))
    return EXIT_OK


@cli.command()
@common_options
def doctor(opts: Options) -> int:
    """Check the desk: files present, headers recognised, state store healthy, config valid, what is configured."""
    from xl_addin.services.desk.doctor import examine_desk

    setup_logs(opts)
    report = examine_desk(opts.desk, opts.now())
    marks = {"ok": "✓", "warning": "!", "error": "✗"}

    def text() -> str:
        lines = [f"台账: {report.desk}"]
        lines += [f" {marks[f.status]} {f.message}" for f in report.findings]
        lines.append("台账正常" if report.healthy else "发现问题，请按上面的提示处理")
        return "\n".join(lines)

    emit(opts, report.as_dict(), text)
    return EXIT_OK if report.healthy else EXIT_ROW_ERRORS


@cli.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-desk"),
              show_default=True, help="Folder for the demo desk (re-created if it holds an earlier demo).")
@click.option("--orders", type=click.IntRange(20, 100_000), default=240, show_default=True,
              help="How many sample orders to generate.")
@common_options
def demo(directory: Path, orders: int, opts: Options) -> int:
    """Build a demo desk with realistic sample orders and run every stage on embedded defaults."""
    from xl_addin.demo.run import run_demo

    say = (lambda text: None) if opts.json else click.echo
    result = run_demo(directory, opts.now(), orders=orders, say=say)
    if opts.json:
        emit(opts, result.as_dict(), "")
    else:
        click.echo(f"演示完成。打开 {result.desk} 中的工作簿查看结果；xl-logistics doctor --desk {result.desk}")
    return EXIT_OK
