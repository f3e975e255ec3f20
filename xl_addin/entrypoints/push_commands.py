"""Push commands: subscribe, serve (the callback receiver), notify."""

from __future__ import annotations

import click

from xl_addin.entrypoints.common import Options, common_options, emit
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_OK, UserError


def _desk(opts: Options):
    from xl_addin.bootstrap import load_desk

    return load_desk(opts.desk)


@cli.command()
@click.option("--list", "show_all", is_flag=True, help="Also list every waybill's subscription state.")
@common_options
def subscribe(show_all: bool, opts: Options) -> int:
    """Subscribe every open waybill with Kuaidi100 push (once each), and show subscription states.

    501 (already subscribed) counts as success; 700/701/702 are listed with what to fix;
    600/601 (key invalid or expired) stop the run."""
    from xl_addin.services.push.service import subscribe_waybills, subscription_overview

    setup_logs(opts)
    desk = _desk(opts)
    res = subscribe_waybills(desk, opts.now(desk.settings.desk.timezone))
    rows = subscription_overview(desk) if show_all else []
    payload = res.as_dict() | ({"subscriptions": rows} if show_all else {})

    def text() -> str:
        from xl_addin.adapters.store.subscriptions import STATE_ZH

        lines = [f"提交订阅 {res.submitted} 单：成功 {res.accepted}，已在订阅中 {res.duplicate}，"
                 f"被拒 {len(res.refused)}，稍后重试 {len(res.retry_later)}"
                 + (f"，本月订阅次数已满 {res.limited}（改为定时查询）" if res.limited else ""),
                 "当前订阅状态: " + ("，".join(f"{STATE_ZH.get(k, k)} {v}" for k, v in sorted(res.states.items()))
                                    or "无")]
        for p in res.refused[:20]:
            lines.append(f"  ! {p['waybill_no']} 返回码 {p['code']} {p['message']} {p['hint']}".rstrip())
        for a in res.attention[:20]:
            if a["state"] == "limit":
                lines.append(f"  ! {a['waybill_no']} {a['hint']}")
            elif a["state"] == "abort" or a["escalated_at"]:
                lines.append(f"  ! {a['waybill_no']} 推送已中止（{a['message']}），改为定时查询，请人工关注")
        for r in rows:
            lines.append(f"  {r['waybill_no']}  {r['company']}  {r['state_zh']}  {r['return_code'] or ''}  "
                         f"最近推送 {r['last_push_at'] or '-'}")
        return "\n".join(lines)

    emit(opts, payload, text)
    return EXIT_OK


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (keep 127.0.0.1 behind a reverse proxy).")
@click.option("--port", type=int, default=8780, show_default=True, help="Port to listen on.")
@click.option("--threads", type=int, default=32, show_default=True,
              help="Worker threads (a request waiting for its batch commit holds one).")
@common_options
def serve(host: str, port: int, threads: int, opts: Options) -> int:
    """Run the push-callback receiver: POST /kuaidi100/callback, GET /healthz.

    Logs are JSON lines on stderr and in .xl-logistics/logs/receiver.jsonl. SIGTERM or Ctrl+C
    stops it gracefully. How to expose it to Kuaidi100 (reverse proxy, TLS): docs/push-receiver.md."""
    from xl_addin.receiver import run_receiver

    setup_logs(opts)
    desk = _desk(opts)

    def ready(running) -> None:
        click.echo(f"推送接收服务已启动：{running.url}/kuaidi100/callback  (健康检查 {running.url}/healthz)", err=True)

    return run_receiver(desk, host, port, threads=threads, on_ready=ready)


@cli.command()
@click.option("--requeue", "requeue", metavar="KEY", multiple=True,
              help="Send this notice again (after a person checked it did not arrive).")
@common_options
def notify(requeue: tuple[str, ...], opts: Options) -> int:
    """Offer the key-node notices of newly stored events and send every notice that is due."""
    from xl_addin.adapters.store.notifications import NotificationLog
    from xl_addin.bootstrap import store_for
    from xl_addin.services.tracking import notify_queued

    setup_logs(opts)
    desk = _desk(opts)
    now = opts.now(desk.settings.desk.timezone)
    with store_for(desk) as store:
        log = NotificationLog(store, actor="命令行")
        missing = [k for k in requeue if not log.requeue(k, now, "命令行")]
        if missing:
            raise UserError(f"无法重发: {', '.join(missing)}", "只有“失败”或“待人工确认”的通知可以重发；请核对通知编号")
        out = notify_queued(desk, store, now)
        out["requeued"] = list(requeue)
        out["counts"] = log.counts()

    def text() -> str:
        lines = [f"新通知 {out['offered']} 条；{out.get('summary', '')}"]
        lines += [f"  ! {p}" for p in out.get("problems", [])[:20]]
        return "\n".join(lines)

    emit(opts, out, text)
    return EXIT_OK
