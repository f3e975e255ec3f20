"""Stage 3 commands: refresh, track, sandbox, export-tracking."""

from __future__ import annotations

import os
from datetime import date

import click

from xl_addin.entrypoints.common import Options, common_options, emit, progress_bar
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_OK, EXIT_ROW_ERRORS, UserError


def _desk(opts: Options):
    from xl_addin.bootstrap import load_desk

    return load_desk(opts.desk)


@cli.command()
@common_options
def refresh(opts: Options) -> int:
    """Query the carriers for every due waybill, store new nodes, run the anomaly rules, update the Tracking Log.

    Safe from a scheduler: a second copy exits at once; a workbook open in Excel is left alone
    (results stay in the state store and appear next time); a stopped run resumes."""
    from xl_addin.services.desk.job_runs import run_job
    from xl_addin.services.tracking import refresh as run_refresh

    setup_logs(opts)
    desk = _desk(opts)
    _sandbox_is_listening(desk)
    now = opts.now(desk.settings.desk.timezone)
    bar = progress_bar(None, "查询运单")
    try:
        res = run_job(desk, "refresh", now, lambda: run_refresh(desk, now, progress=bar),
                      lambda r: r.summary_zh(), lock=False)
    finally:
        bar.close()

    def text() -> str:
        c = res.counts()
        lines = [f"查询 {c['queried']} 单：有更新 {c['updated']}，无变化 {c['unchanged']}，暂无轨迹 {c['not_found']}，"
                 f"失败 {c['failed']}；按频率规则跳过 {c['skipped_by_rule']}；未到查询时间 {res.not_due}；"
                 f"当前异常 {c['anomalies']}（新增 {res.anomalies_opened}，解除 {res.anomalies_resolved}）"]
        if res.resumed_from:
            lines.append(f"接续上次中断的刷新（第 {res.resumed_from} 次，已完成 {res.resumed_done} 单）")
        if res.manual_ingested:
            lines.append(f"已导入人工录入节点 {res.manual_ingested} 条")
        if res.waiting_for_check:
            lines.append(f"  ! {res.waiting_for_check} 单多日无任何轨迹，请核对物流商或单号（见跟踪记录表与异常台账；"
                         "更正用 xl-logistics rebind），每天只再查一次")
        for p in res.problems[:20]:
            lines.append(f"  ! {p['waybill_no']} {p['message']} {p['hint']}".rstrip())
        if res.failed:
            lines.append(f"  {res.failed} 单查询失败：原因已写入跟踪记录表的“异常原因”列和最近运行.xlsx；"
                         "可重试的会在下次刷新时自动再查，其余请按提示处理后再运行 xl-logistics refresh")
        if res.unknown_codes:
            lines.append(f"  ! 未知状态码（已记为“未知状态”）: {', '.join(res.unknown_codes)}")
        lines.append("跟踪记录表已更新。" if res.workbook_written else f"跟踪记录表未写入: {res.workbook_message}")
        return "\n".join(lines)

    emit(opts, res.as_dict(), text)
    return EXIT_ROW_ERRORS if res.failed else EXIT_OK


@cli.command()
@click.argument("waybill")
@common_options
def track(waybill: str, opts: Options) -> int:
    """Show one waybill's binding, current status, anomalies and every node (from the state store)."""
    from xl_addin.bootstrap import store_for
    from xl_addin.services.tracking import track_one

    setup_logs(opts)
    desk = _desk(opts)
    with store_for(desk) as store:
        info = track_one(store, waybill)

    tz = desk.settings.desk.timezone

    def text() -> str:
        from xl_addin.display.moments import desk_time
        from xl_addin.display.vocabulary import label
        from xl_addin.services.tracking.tracking_log import query_problem

        s = info["status"] or {}
        b = info["binding"] or {}
        problem = query_problem(s)
        lines = [f"运单 {info['waybill_no']}  订单 {b.get('order_no') or s.get('order_no') or '-'}  "
                 f"{b.get('carrier') or s.get('carrier_code') or ''}",
                 f"当前状态: {s.get('status_zh') or ('查询失败' if problem else '未查询')}  "
                 f"最近查询: {desk_time(s.get('last_checked_at'), tz)}"]
        if problem:
            lines.append(f"  ! 最近一次查询失败: {problem}")
        for a in info["anomalies"]:
            state = "已解除" if a["resolved_at"] else "未解除"
            lines.append(f"  ⚠ {a['reason']}（自 {desk_time(a['since'], tz)}，{state}）")
        for n in info["nodes"]:
            lines.append(f"  {desk_time(n['time'], tz)}  [{label('node_source', n['source'])}] {n['context']}")
        return "\n".join(lines)

    emit(opts, info, text)
    return EXIT_OK


@cli.command()
@click.option("--port", type=int, default=None,
              help="Port on 127.0.0.1 (default: the desk's [tracking] base_url when it is the sandbox, else 8765).")
@click.option("--seed", default="0", show_default=True, help="Journeys are deterministic for a seed.")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Simulated seconds per real second.")
@common_options
def sandbox(port: int | None, seed: str, speed: float, opts: Options) -> int:
    """Serve a local Kuaidi100 look-alike (query, subscribe, autonumber) for demos and tests.

    --now sets where the simulated clock starts (default: the real time); move it while it runs with
    POST /_sandbox/clock (see README, "The sandbox"). Ctrl+C stops it.
    """
    from xl_addin.config import load_settings
    from xl_addin.sandbox import run_forever
    from xl_addin.services.desk.setup import SANDBOX_PORT, sandbox_port

    if port is None:
        port = sandbox_port(load_settings(opts.desk)) or SANDBOX_PORT
    run_forever("127.0.0.1", port, seed=seed, speed=speed, start=opts.now())
    return EXIT_OK


@cli.command("sandbox-clock")
@click.option("--advance", metavar="N[d|h|m]", default=None, help="Move the simulated clock forward, e.g. 2d, 6h, 30m.")
@click.option("--set", "set_to", metavar="ISO", default=None, help="Set the simulated clock, e.g. 2026-12-05T09:00.")
@click.option("--speed", type=float, default=None, help="Simulated seconds per real second from now on (0 stops it).")
@click.option("--port", type=int, default=None, help="The sandbox's port (default: from the desk's config, else 8765).")
@common_options
def sandbox_clock(advance: str | None, set_to: str | None, speed: float | None, port: int | None, opts: Options) -> int:
    """Show or move the running sandbox's simulated clock (journeys unfold by it)."""
    import requests

    from xl_addin.config import load_settings
    from xl_addin.display.moments import desk_time
    from xl_addin.services.desk.setup import SANDBOX_PORT, sandbox_port

    body: dict = {}
    if advance:
        unit = {"d": "advance_days", "h": "advance_hours", "m": "advance_minutes"}.get(advance.strip()[-1:].lower())
        try:
            amount = float(advance.strip()[:-1])
        except ValueError:
            unit = None
        if unit is None:
            raise UserError(f"--advance 的格式不对: {advance!r}", "请写成 2d（天）、6h（小时）或 30m（分钟）")
        body[unit] = amount
    if set_to:
        body["set"] = set_to
    if speed is not None:
        body["speed"] = speed
    port = port or sandbox_port(load_settings(opts.desk)) or SANDBOX_PORT
    url = f"http://127.0.0.1:{port}/_sandbox/" + ("clock" if body else "state")
    try:
        r = requests.post(url, json=body, timeout=5) if body else requests.get(url, timeout=5)
        data = r.json()
    except (requests.RequestException, ValueError):
        raise UserError(f"连不上本地沙箱 http://127.0.0.1:{port}",
                        "请先在另一个窗口运行 xl-logistics sandbox --desk 台账文件夹") from None
    if r.status_code != 200:
        raise UserError(f"沙箱拒绝了时钟设置: {data.get('error') or r.status_code}", "请检查 --set 的时间格式，如 2026-12-05T09:00")
    emit(opts, data, f"沙箱时钟: {desk_time(data['now'], opts.zone())}，{data['speed']:g} 倍速")
    return EXIT_OK


def _sandbox_is_listening(desk) -> None:
    """A desk that tracks against the local sandbox: say how to start it when nothing listens there."""
    import socket

    from xl_addin.services.desk.setup import sandbox_port

    port = sandbox_port(desk.settings)
    if port is None or os.environ.get("KUAIDI100_BASE_URL"):
        return
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        raise UserError(f"本地沙箱没有运行（http://127.0.0.1:{port}），没有查询",
                        f"请在另一个窗口运行 xl-logistics sandbox --desk {desk.root} 并保持打开，然后再运行 refresh") from None


@cli.command("export-tracking")
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD", help="The day whose nodes are archived.")
@common_options
def export_tracking(day: str, opts: Options) -> int:
    """Write one day's tracking nodes to a dated archive workbook (the procedure's daily export)."""
    from xl_addin.services.tracking import export_tracking as run_export

    setup_logs(opts)
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise UserError(f"--date 的格式不对: {day!r}", "请写成 2026-11-26") from None
    out = run_export(_desk(opts), d)
    emit(opts, out, f"已导出 {out['date']} 的 {out['rows']} 条节点: {out['path']}")
    return EXIT_OK
