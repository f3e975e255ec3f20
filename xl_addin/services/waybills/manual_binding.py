"""Bind a number the carrier handed out (API, website, desk) to an order that has none yet."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.order_status import OrderStatuses
from xl_addin.adapters.store.waybills import AUTO, MANUAL, VOID, Binding, WaybillStore, WaybillTaken
from xl_addin.errors import UserError
from xl_addin.services.waybills.carrier_sheets import load_carriers
from xl_addin.services.waybills.policy import SOURCES, Books, WaybillPolicy, order_for_shipping, service_label
from xl_addin.services.waybills.sheet_sync import SyncResult, sync_workbooks
from xl_addin.services.waybills.suggestions import CarrierNeeded, shell_arg, suggest_carriers_for

def _sheet_bindings(books: Books | None) -> dict[str, str]:
    """waybill → order of the rows in the Binding Table sheet (a number typed there by hand counts too)."""
    if books is None or books.bindings is None:
        return {}
    from xl_addin.adapters.workbook.books import BINDINGS_SHEET
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.domain.waybills.formats import normalize_waybill

    table = read_sheet(books.bindings, BINDINGS_SHEET)
    return {normalize_waybill(r.values.get("waybill_no")): str(r.values.get("order_no") or "").strip()
            for r in table.rows if r.values.get("waybill_no") not in (None, "")}


def checked_number(store, waybill: str, carrier_name: str, carriers, policy: WaybillPolicy, books: Books | None):
    """Normalise and check a hand-entered number; refuse one known anywhere. Returns (number, carrier)."""
    from xl_addin.domain.waybills.carriers import find_carrier
    from xl_addin.domain.waybills.formats import check_waybill, normalize_waybill

    number = normalize_waybill(waybill)
    problems = check_waybill(number, carrier_name, carriers, own_prefixes=(policy.company_short_code,))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise UserError(errors[0].message, "单号未绑定")
    carrier = find_carrier(carrier_name, carriers)
    entry = WaybillStore(store).registry_entry(number)
    if entry is not None:
        where = {"bound": "已绑定到订单", "reserved": "已预留给订单", "replaced": "曾绑定到订单 (已换绑)",
                 "void": "是作废的单号 (原预留给订单"}[entry["state"]]
        tail = ")" if entry["state"] == VOID else ""
        raise WaybillTaken(f"物流单号 {number} {where} {entry['order_no'] or '?'}{tail}, 不能重复使用",
                           "请核对单号; 确需改绑请用 xl-logistics rebind", order_no=entry["order_no"],
                           state=entry["state"])
    sheet_order = _sheet_bindings(books).get(number)
    if sheet_order is not None:
        raise WaybillTaken(f"物流单号 {number} 已出现在绑定表中 (订单 {sheet_order or '未填'}), 不能重复使用",
                           "请核对绑定表中的这一行", order_no=sheet_order or None, state="sheet")
    return number, carrier, [p.as_dict() for p in problems]


def binding_row(store, order_no, number, carrier, source, by, now, policy, reason, carriers) -> Binding:
    """The binding row for a hand-entered number: service and expected date from the rule's choice."""
    from xl_addin.adapters.store.orders import OrderRecords
    from xl_addin.domain.waybills.calendar import expected_delivery
    from xl_addin.domain.waybills.selection import OrderForShipping, Override, Selection, select_carrier

    rec = OrderRecords(store).get(order_no)
    eta, service, freight = None, None, None
    if rec is not None:
        base = order_for_shipping(rec)
        sel = select_carrier(OrderForShipping(**{**base.__dict__, "override": Override(carrier.code, by)}),
                             carriers, policy.shipper_province)
        if isinstance(sel, Selection):
            service, freight = service_label(sel), (str(sel.freight) if sel.freight is not None else None)
            try:
                eta = expected_delivery(now.astimezone(ZoneInfo(policy.timezone)), carrier, sel.service, sel.dest_group)
            except ValueError:
                eta = None
    return Binding(order_no=order_no, waybill_no=number, carrier=carrier.name, carrier_code=carrier.code,
                   source=source, bound_at=now, bound_by=by, expected_delivery=eta.date if eta else None,
                   expected_estimated=bool(eta and eta.estimated), service=service, est_freight=freight,
                   selection_reason=reason, decided_by="override")


def bump_if_own(ws: WaybillStore, number: str) -> None:
    from xl_addin.domain.waybills.numbering import parse_own_waybill

    own = parse_own_waybill(number)
    if own is not None:
        ws.bump_counter(own.prefix, own.day, own.serial)


def bind_manual(store, order_no: str, waybill: str, carrier_name: str | None, by: str, now: datetime, *,
                source: str = "manual", policy: WaybillPolicy = WaybillPolicy(), books: Books | None = None,
                carriers=None, autonumber: Callable[[str], Any] | None = None,
                command_suffix: str = "") -> tuple[Binding, SyncResult | None, list[dict]]:
    """Bind a number from the carrier (API, website, desk) to an order that has no binding yet.

    Without ``carrier_name`` nothing is bound: CarrierNeeded lists the carriers the number looks like
    (its format, and ``autonumber``'s answer when a tracking provider is configured) and the exact
    command to run — a suggestion, never a verdict.
    """
    from xl_addin.adapters.store.orders import ALLOCATED, CONFIRMED, OrderRecords

    if not (by or "").strip():
        raise UserError("请用 --by 写明绑定人姓名")
    src = SOURCES.get(source)
    if src is None or src == AUTO:
        raise UserError(f"单号来源 {source!r} 无法识别", "请用 manual (人工录入) 或 carrier_api (物流商接口)")
    order_no = order_no.strip()
    rec = OrderRecords(store).get(order_no)
    if rec is None:
        raise UserError(f"状态库中没有订单 {order_no}", "请先运行 xl-logistics validate 校验并确认订单")
    if rec.status != CONFIRMED:
        from xl_addin.display.vocabulary import label

        raise UserError(f"订单 {order_no} 的状态是“{label('order_status', rec.status)}”，只有已确认的订单才能绑定运单",
                        "已绑定的订单请用 xl-logistics rebind 换绑")
    ws = WaybillStore(store)
    if ws.current(order_no) is not None:
        raise UserError(f"订单 {order_no} 已绑定 {ws.current(order_no).waybill_no}", "换绑请用 xl-logistics rebind")
    carriers = list(carriers) if carriers is not None else load_carriers(books)
    if not (carrier_name or "").strip():
        _refuse_without_carrier(store, order_no, waybill, by.strip(), src, carriers, books, autonumber,
                                command_suffix)
    number, carrier, notes = checked_number(store, waybill, carrier_name, carriers, policy, books)
    binding = binding_row(store, order_no, number, carrier, src, by.strip(), now, policy,
                              f"人工录入 ({by.strip()})", carriers)
    with store.transaction():
        if ws.registry_entry(number) is not None:  # a concurrent bind since the check
            raise WaybillTaken(f"物流单号 {number} 刚被绑定", "请重试以查看绑定到哪个订单")
        ws.register([(number, carrier.code, order_no)], "bound", src, None, now)
        bump_if_own(ws, number)
        ws.insert_bindings([binding])
        OrderStatuses(store).set([order_no], ALLOCATED, now)
        store.audit(now, by.strip(), "binding:create", "order", order_no,
                    {"waybill_no": number, "carrier": carrier.code, "source": src})
    sync = sync_workbooks(store, books, policy) if books is not None else None
    return WaybillStore(store).current(order_no), sync, notes


def _refuse_without_carrier(store, order_no, waybill, by, source, carriers, books, autonumber, suffix) -> None:
    from xl_addin.domain.waybills.carriers import find_carrier
    from xl_addin.domain.waybills.formats import normalize_waybill

    number = normalize_waybill(waybill)
    if not number:
        raise UserError("物流单号为空", "请填写物流商下发的单号")
    entry = WaybillStore(store).registry_entry(number)
    if entry is not None:
        raise WaybillTaken(f"物流单号 {number} 已登记 (订单 {entry['order_no'] or '?'}, 状态 {entry['state']}), 不能重复使用",
                           "请核对单号", order_no=entry["order_no"], state=entry["state"])
    found = suggest_carriers_for(number, carriers, autonumber)
    names = {c.code: f"{c.name}({c.code})" for c in carriers}
    src = "" if source == MANUAL else " --source carrier_api"

    def command(code: str) -> str:
        return (f"xl-logistics bind {shell_arg(order_no)} {shell_arg(number)} --carrier {shell_arg(code)} "
                f"--by {shell_arg(by)}{src}{suffix}")

    listed = "、".join(names.get(c, c) for c in found.candidates)
    provider = ""
    if found.by_provider is not None:
        said = "、".join(names[c] for c in found.by_provider) or "无名录中的物流商"
        provider = f"; 快递100 智能判断: {said}"
        if found.provider_unlisted:
            provider += f" (另有名录外的 {'、'.join(found.provider_unlisted)})"
    elif found.provider_note:
        provider = f"; {found.provider_note}"
    fmt = "、".join(names[c] for c in found.by_format) or "无"
    one = found.unambiguous
    if one is not None:
        message = (f"物流单号 {number} 看起来是{names[one]}的单号 (按单号格式{', 与快递100一致' if found.by_provider else ''})"
                   f"{provider}。这只是建议, 订单 {order_no} 尚未绑定")
        hint = f"确认是{find_carrier(one, carriers).name}的单号后运行: {command(one)}"
        commands = [command(one)]
    elif found.candidates:
        why = "单号格式与快递100的判断不一致" if found.conflict else "不止一家物流商的单号是这种格式"
        message = (f"物流单号 {number} 可能属于: {listed} ({why}; 按格式: {fmt}{provider})。订单 {order_no} 尚未绑定")
        commands = [command(c) for c in found.candidates]
        hint = "请向物流商核实后运行其中一条: " + " | ".join(commands)
    else:
        message = f"无法从物流单号 {number} 判断物流商 (按格式: 无{provider})。订单 {order_no} 尚未绑定"
        commands = [command("物流商代码")]
        hint = f"请用 --carrier 写明物流商后运行: {commands[0]}"
    raise CarrierNeeded(message, hint, found, commands)
