"""Stage 2 commands: allocate, bind, rebind, review."""

from __future__ import annotations

import click

from xl_addin.entrypoints.common import Options, common_options, emit, render
from xl_addin.entrypoints.group import cli, setup_logs
from xl_addin.errors import EXIT_OK, EXIT_ROW_ERRORS, UserError

SHOW_ROWS = 40


class AskedOption(click.Option):
    """Optional on the command line, yet asked for by the ribbon button (its input boxes ask for the
    parameters marked required): ``bind`` from Excel asks for the carrier, ``bind`` typed without
    ``--carrier`` lists suggestions instead of failing."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, required=True, **kwargs)

    def value_is_missing(self, value) -> bool:
        return False

    def get_help_extra(self, ctx):
        extra = super().get_help_extra(ctx)
        extra.pop("required", None)
        return extra


def _desk(opts: Options):
    from xl_addin.bootstrap import load_desk
    from xl_addin.services.waybills import Books, WaybillPolicy

    desk = load_desk(opts.desk)
    return desk, WaybillPolicy.from_settings(desk.settings), Books.for_desk(desk)


def _sync_lines(sync) -> list[str]:
    return [] if sync is None else sync.lines()


def _overrides(pairs: tuple[str, ...], by: str | None, note: str | None) -> dict:
    """ORDER=CARRIER pairs from the command line → {order: Override(carrier, by, note)}."""
    from xl_addin.domain.waybills.selection import Override

    if not pairs:
        return {}
    if not (by or "").strip():
        raise UserError("人工指定物流商 (--override) 时必须用 --by 写明指定人", "例如: --override DD001=顺丰 --by 王芳")
    out: dict = {}
    for pair in pairs:
        order_no, sep, carrier = pair.replace("＝", "=").partition("=")
        if not sep or not order_no.strip() or not carrier.strip():
            raise UserError(f"--override 的写法不对: {pair!r}", "请写成 --override 订单号=物流商, 如 DD001=顺丰")
        if order_no.strip() in out:
            raise UserError(f"订单 {order_no.strip()} 被 --override 指定了两次", "每个订单只写一次")
        out[order_no.strip()] = Override(carrier.strip(), by.strip(), (note or "").strip())
    return out


@cli.command()
@click.option("--override", "overrides", multiple=True, metavar="ORDER=CARRIER",
              help="A person's carrier choice for one order (repeatable), e.g. DD001=顺丰; wins over the rule "
                   "and is recorded with --by in the selection reason and the audit log.")
@click.option("--by", "by", default=None, help="Who chose the carriers given with --override (物流专员/主管).")
@click.option("--note", default=None, help="Why the carriers were chosen by hand (kept with the override).")
@common_options
def allocate(overrides: tuple[str, ...], by: str | None, note: str | None, opts: Options) -> int:
    """Choose the carrier and allocate a waybill number for every confirmed order without one, then write
    the Binding Table and the orders' waybill/status cells.

    Prices and transit days come from the Binding Table's 运价与时效 sheet (filled with the defaults on
    the first run). Exit 0 when every order got a number, 1 when some could not (see the problems),
    2 on failure (including bad rows in the carrier or rate sheets, or a wrong --override).
    """
    from xl_addin.bootstrap import store_for
    from xl_addin.services.waybills import allocate as run

    setup_logs(opts)
    chosen = _overrides(overrides, by, note)
    desk, policy, books = _desk(opts)
    now = opts.now(policy.timezone)
    with store_for(desk) as store:
        report = run(store, now, policy=policy, books=books, overrides=chosen)
    subscribed = _subscribe_new(desk, now) if report.bindings else None

    def text() -> str:
        lines = [f"已分配 {len(report.bindings)} 个运单号; 无法分配 {len(report.problems)} 个订单"
                 + (f"; 作废中断批次的预留单号 {len(report.voided)} 个" if report.voided else "")]
        for b in report.bindings[:SHOW_ROWS]:
            lines.append(f"  {b.order_no} → {b.waybill_no} {b.carrier} {b.service or ''} "
                         f"{eta_text(b)} — {b.selection_reason}")
        if len(report.bindings) > SHOW_ROWS:
            lines.append(f"  … 另有 {len(report.bindings) - SHOW_ROWS} 个 (用 --json 查看全部)")
        for p in report.problems[:SHOW_ROWS]:
            lines.append(f"  ✗ {p['order_no']} [{p['code']}] {p['message']}")
        for w in report.warnings[:SHOW_ROWS]:
            lines.append(f"  ! {w['order_no']} [{w['code']}] {w['message']}")
        return "\n".join(lines + _sync_lines(report.sync) + ([subscribed["message"]] if subscribed else []))

    if report.sync and report.sync.messages:
        click.echo("注意: " + "; ".join(report.sync.messages), err=True)
    emit(opts, report.as_dict() | {"subscription": subscribed}, text)
    return EXIT_ROW_ERRORS if report.has_errors else EXIT_OK


def _subscribe_new(desk, now) -> dict | None:
    """Issue 6: a new binding is subscribed for push at once when the desk has a callback URL.

    A failure here never undoes the binding: it is reported, and `xl-logistics subscribe` (or the
    scheduler) tries again."""
    from xl_addin.errors import ConfigError, UserError
    from xl_addin.services.push.service import callback_url, subscribe_waybills

    try:
        callback_url(desk)
    except ConfigError:  # push not set up on this desk: polling tracks the waybill
        return None
    try:
        res = subscribe_waybills(desk, now)
    except UserError as exc:
        return {"ok": False, "message": f"推送订阅未完成: {exc}（运单已绑定；稍后运行 xl-logistics subscribe）"}
    return {"ok": True, **res.as_dict(),
            "message": f"推送订阅: 提交 {res.submitted}，成功 {res.accepted}，重复 {res.duplicate}，被拒 {len(res.refused)}"}


@cli.command()
@click.argument("order_no")
@click.argument("waybill")
@click.option("--carrier", cls=AskedOption, default=None,
              help="The carrier that issued the number (code or name, e.g. SF, 顺丰). Without it nothing is bound: "
                   "the carriers the number looks like are listed with the command to run (exit 2).")
@click.option("--by", "by", required=True, help="Who binds it (物流专员).")
@click.option("--source", type=click.Choice(["manual", "carrier_api"]), default="manual", show_default=True,
              help="manual: typed from the carrier's website or desk; carrier_api: returned by the carrier's API.")
@common_options
def bind(order_no: str, waybill: str, carrier: str | None, by: str, source: str, opts: Options) -> int:
    """Bind a number issued by the carrier to a confirmed order (format-checked; a number known anywhere
    is refused with the order it belongs to). Without --carrier: suggest carriers from the number's format
    and the tracking provider's auto-detection, bind nothing, exit 2."""
    from pathlib import Path

    from xl_addin.bootstrap import provider_autonumber, store_for
    from xl_addin.services.waybills import CarrierNeeded, bind_manual, shell_arg

    setup_logs(opts)
    desk, policy, books = _desk(opts)
    suffix = "" if Path(opts.desk) == Path(".") else f" --desk {shell_arg(str(opts.desk))}"
    autonumber = provider_autonumber(desk.settings) if not (carrier or "").strip() else None
    try:
        with store_for(desk) as store:
            binding, sync, notes = bind_manual(store, order_no, waybill, carrier, by, opts.now(policy.timezone),
                                               source=source, policy=policy, books=books, autonumber=autonumber,
                                               command_suffix=suffix)
    except CarrierNeeded as exc:
        emit(opts, exc.as_dict(), f"未绑定: {exc.message}\n{exc.hint}")
        return exc.exit_code
    subscribed = _subscribe_new(desk, opts.now(policy.timezone))
    payload = {"binding": binding.as_dict(), "notes": notes, "workbooks": sync.as_dict() if sync else None,
               "subscription": subscribed}
    lines = [f"订单 {binding.order_no} 已绑定 {binding.waybill_no} ({binding.carrier}), {eta_text(binding)}"]
    lines += [f"  ! {n['message']}" for n in notes]
    lines += [subscribed["message"]] if subscribed else []
    emit(opts, payload, "\n".join(lines + _sync_lines(sync)))
    return EXIT_OK


@cli.command()
@click.argument("order_no")
@click.argument("new_waybill")
@click.option("--by", "by", required=True, help="Who re-binds.")
@click.option("--reason", required=True, help="Why (e.g. 物流商重新出单).")
@click.option("--carrier", default=None, help="Carrier of the new number (default: the current binding's). "
              "With the order's own number: the carrier it really belongs to (a carrier correction).")
@click.option("--source", type=click.Choice(["manual", "carrier_api"]), default="manual", show_default=True)
@common_options
def rebind(order_no: str, new_waybill: str, by: str, reason: str, carrier: str | None, source: str,
           opts: Options) -> int:
    """Replace an order's waybill number; the old binding is kept as history (who, when, why) and the old
    number is no longer tracked (it names the new one). A new number that does not fit the order's carrier
    (and no --carrier) lists the carriers it looks like (format and the provider's auto-detection), exit 2.
    With the same number and --carrier: correct the
    carrier (e.g. confirming the Binding Table's 承运商核对 suggestion); every later query and subscription
    uses the new carrier's code."""
    from pathlib import Path

    from xl_addin.bootstrap import provider_autonumber, store_for
    from xl_addin.services.waybills import CarrierNeeded, shell_arg
    from xl_addin.services.waybills import rebind as run

    setup_logs(opts)
    desk, policy, books = _desk(opts)
    suffix = "" if Path(opts.desk) == Path(".") else f" --desk {shell_arg(str(opts.desk))}"
    autonumber = provider_autonumber(desk.settings) if not (carrier or "").strip() else None
    try:
        with store_for(desk) as store:
            old, new, sync = run(store, order_no, new_waybill, by, reason, opts.now(policy.timezone),
                                 carrier_name=carrier, source=source, policy=policy, books=books,
                                 autonumber=autonumber, command_suffix=suffix)
    except CarrierNeeded as exc:
        emit(opts, exc.as_dict(), f"未换绑: {exc.message}\n{exc.hint}")
        return exc.exit_code
    payload = {"old": old.as_dict(), "new": new.as_dict(), "workbooks": sync.as_dict() if sync else None}
    head = (f"订单 {new.order_no}: {new.waybill_no} 的物流商已更正 {old.carrier} → {new.carrier}"
            if old.waybill_no == new.waybill_no else f"订单 {new.order_no}: {old.waybill_no} → {new.waybill_no} ({new.carrier})")
    emit(opts, payload, "\n".join([head]
                                  + _sync_lines(sync)))
    return EXIT_OK


@cli.command()
@click.option("--date", "day", required=True, help="The day whose bindings are signed off (YYYY-MM-DD).")
@click.option("--by", "by", required=True, help="The reviewing supervisor (物流主管).")
@common_options
def review(day: str, by: str, opts: Options) -> int:
    """Sign off a day's bindings (daily supervisor review); bindings changed after an earlier sign-off
    are reported. Exit 1 when such changes were found."""
    from xl_addin.bootstrap import build_uow, load_desk
    from xl_addin.services.waybills import review as use_case

    setup_logs(opts)
    request = use_case.ReviewRequest.parse(day, by)
    desk = load_desk(opts.desk)
    with build_uow(desk, opts.now(desk.settings.desk.timezone)) as uow:
        return render(opts, use_case.run(uow, request))


def eta_text(binding) -> str:  # noqa: ANN001 - a Binding
    """预计送达 2027-02-11 (估算), for the text output of allocate and bind."""
    when = binding.expected_delivery.isoformat() if binding.expected_delivery else "未知"
    return f"预计送达 {when}" + (" (估算: 当年放假调休安排未公布)" if binding.expected_estimated else "")
