"""Stage 3 commands: refresh, track, sandbox, export-tracking."""

from __future__ import annotations

from datetime import date

import click

from xl_addin.entrypoints.common import Options, common_options, emit, progress_bar
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_OK, UserError


def _desk(opts: Options):
    from xl_addin.bootstrap import load_desk

    return load_desk(opts.desk)


@cli.command()
@common_options
def refresh(opts: Options) -> int:
    """Query the carriers for every due waybill, store new nodes, run the anomaly rules, update the Tracking Log.

    Safe from a scheduler: a second copy exits at once; a workbook open in Excel is left alone
    (results stay in the state store and appear next time); a stopped run resumes."""
    from xl_addin.services.job_runs import run_job
    from xl_addin.services.tracking import refresh as run_refresh

    setup_logs(opts)
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)
    bar = progress_bar(None, "查询运单")
    try:
        res = run_job(desk, "refresh", now, lambda: run_refresh(desk, now, progress=bar),
                      lambda r: "查询 {queried}，有更新 {updated}，失败 {failed}，异常 {anomalies}".format(**r.counts()),
                      lock=False)
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
        if res.unknown_codes:
            lines.append(f"  ! 未知状态码（已记为“未知状态”）: {', '.join(res.unknown_codes)}")
        lines.append("跟踪记录表已更新。" if res.workbook_written else f"跟踪记录表未写入: {res.workbook_message}")
        return "\n".join(lines)

    emit(opts, res.as_dict(), text)
    return EXIT_OK


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

    def text() -> str:
        s = info["status"] or {}
        b = info["binding"] or {}
        lines = [f"运单 {info['waybill_no']}  订单 {b.get('order_no') or s.get('order_no') or '-'}  "
                 f"{b.get('carrier') or s.get('carrier_code') or ''}",
                 f"当前状态: {s.get('status_zh') or '未查询'}  最近查询: {s.get('last_checked_at') or '-'}"]
        for a in info["anomalies"]:
            state = "已解除" if a["resolved_at"] else "未解除"
            lines.append(f"  ⚠ {a['reason']}（自 {a['since']}，{state}）")
        for n in info["nodes"]:
            lines.append(f"  {n['time'][:16]}  [{n['source']}] {n['context']}")
        return "\n".join(lines)

    emit(opts, info, text)
    return EXIT_OK


@cli.command()
@click.option("--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1.")
@click.option("--seed", default="0", show_default=True, help="Journeys are deterministic for a seed.")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Simulated seconds per real second.")
@common_options
def sandbox(port: int, seed: str, speed: float, opts: Options) -> int:
    """Serve a local Kuaidi100 look-alike (query, subscribe, autonumber) for demos and tests.

    --now sets where the simulated clock starts (default: the real time). Ctrl+C stops it.
    """
    from xl_addin.sandbox import run_forever

    run_forever("127.0.0.1", port, seed=seed, speed=speed, start=opts.now())
    return EXIT_OK


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
