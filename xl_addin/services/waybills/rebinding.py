"""Replace an order's waybill, or correct the carrier of its number; the old binding stays as history."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from xl_addin.adapters.store.waybills import AUTO, Binding, WaybillStore
from xl_addin.errors import UserError
from xl_addin.services.waybills.carrier_sheets import load_carriers
from xl_addin.services.waybills.manual_binding import binding_row, bump_if_own, checked_number
from xl_addin.services.waybills.policy import SOURCES, Books, WaybillPolicy
from xl_addin.services.waybills.sheet_sync import SyncResult, sync_workbooks
from xl_addin.services.waybills.suggestions import CarrierNeeded, shell_arg, suggest_carriers_for

def rebind(store, order_no: str, new_waybill: str, by: str, reason: str, now: datetime, *,
           carrier_name: str | None = None, source: str = "manual", policy: WaybillPolicy = WaybillPolicy(),
           books: Books | None = None, carriers=None, autonumber: Callable[[str], Any] | None = None,
           command_suffix: str = "") -> tuple[Binding, Binding, SyncResult | None]:
    """Replace an order's waybill; the old binding stays as history with who, when and why. Without
    ``carrier_name`` the new number keeps the order's carrier — unless it does not fit that carrier's
    format: then nothing changes and CarrierNeeded lists the carriers it looks like (its format and
    ``autonumber``, the provider's detection) with the command to confirm each."""
    if not (by or "").strip():
        raise UserError("请用 --by 写明换绑人姓名")
    if not (reason or "").strip():
        raise UserError("请用 --reason 写明换绑原因", "例如: 物流商重新出单、单号贴错")
    src = SOURCES.get(source)
    if src is None or src == AUTO:
        raise UserError(f"单号来源 {source!r} 无法识别", "请用 manual (人工录入) 或 carrier_api (物流商接口)")
    ws = WaybillStore(store)
    old = ws.current(order_no.strip())
    if old is None:
        raise UserError(f"订单 {order_no} 还没有绑定运单", "首次绑定请用 xl-logistics bind 或 allocate")
    carriers = list(carriers) if carriers is not None else load_carriers(books)
    from xl_addin.domain.waybills.formats import normalize_waybill

    if normalize_waybill(new_waybill) == old.waybill_no:  # the same number, another carrier: a carrier correction
        return _correct_carrier(store, old, carrier_name, by.strip(), reason.strip(), now, policy, books, carriers)
    if not (carrier_name or "").strip():
        _suggest_for_rebind(old, new_waybill, by.strip(), reason.strip(), carriers, policy, autonumber, command_suffix)
    number, carrier, _ = checked_number(store, new_waybill, carrier_name or old.carrier_code, carriers, policy, books)
    new = binding_row(store, old.order_no, number, carrier, src, by.strip(), now, policy,
                          f"换绑 ({by.strip()}): {reason.strip()}", carriers)
    with store.transaction():
        ws.retire(old, now, by.strip(), reason.strip(), number)
        ws.register([(number, carrier.code, old.order_no)], "bound", src, None, now)
        bump_if_own(ws, number)
        ws.insert_bindings([new])
        store.audit(now, by.strip(), "binding:rebind", "order", old.order_no,
                    {"old_waybill": old.waybill_no, "new_waybill": number, "carrier": carrier.code,
                     "reason": reason.strip()})
    sync = sync_workbooks(store, books, policy) if books is not None else None
    return ws.history(old.order_no)[-1], ws.current(old.order_no), sync


def _suggest_for_rebind(old: Binding, new_waybill: str, by: str, reason: str, carriers, policy: WaybillPolicy,
                        autonumber, suffix: str) -> None:
    """The new number does not fit the order's carrier: say which carriers it looks like, bind nothing."""
    from xl_addin.domain.waybills.formats import check_waybill, normalize_waybill

    number = normalize_waybill(new_waybill)
    problems = check_waybill(number, old.carrier_code, carriers, own_prefixes=(policy.company_short_code,))
    if not any(p.severity == "error" and p.code == "WAYBILL_FORMAT" for p in problems):
        return
    found = suggest_carriers_for(number, carriers, autonumber)
    names = {c.code: f"{c.name}({c.code})" for c in carriers}

    def command(code: str) -> str:
        return (f"xl-logistics rebind {shell_arg(old.order_no)} {shell_arg(number)} --carrier {shell_arg(code)} "
                f"--by {shell_arg(by)} --reason {shell_arg(reason)}{suffix}")

    reasons = []
    if found.by_format:
        reasons.append("按单号格式: " + "、".join(names[c] for c in found.by_format))
    if found.by_provider is not None:
        reasons.append("快递100 智能判断: " + ("、".join(names[c] for c in found.by_provider) or "无名录中的物流商"))
    elif found.provider_note:
        reasons.append(found.provider_note)
    commands = [command(c) for c in found.candidates] or [command("物流商代码")]
    message = (f"新单号 {number} 不符合{old.carrier}的单号格式" + (f"，可能属于: {'、'.join(names[c] for c in found.candidates)}"
                                                         if found.candidates else "")
               + (f"（{'；'.join(reasons)}）" if reasons else "") + f"。订单 {old.order_no} 未换绑")
    raise CarrierNeeded(message, "请核实后运行: " + " | ".join(commands), found, commands)


def _correct_carrier(store, old: Binding, carrier_name: str | None, by: str, reason: str, now: datetime,
                     policy: WaybillPolicy, books: Books | None, carriers):
    """A person confirms the number belongs to another carrier (often after a suggestion in the Binding
    Table): the binding moves to that carrier — the old one stays as history — and every later query
    and subscription uses its code. Audited with who, when and why."""
    from xl_addin.adapters.store.carrier_corrections import CarrierCorrections
    from xl_addin.domain.waybills.carriers import find_carrier
    from xl_addin.domain.waybills.formats import check_waybill

    if not (carrier_name or "").strip():
        raise UserError(f"单号 {old.waybill_no} 与原单号相同：更正物流商时请用 --carrier 写明正确的物流商",
                        "单号未变, 只改物流商; 例如 --carrier YTO")
    carrier = find_carrier(carrier_name, carriers)
    if carrier is None:
        raise UserError(f"物流商 {carrier_name} 不在合格物流商名录中", "请用名录中的代码或名称, 例如 SF、中通")
    if carrier.code == old.carrier_code:
        raise UserError(f"单号 {old.waybill_no} 已绑定在 {carrier.name} 下, 无需更正")
    errors = [p for p in check_waybill(old.waybill_no, carrier.code, carriers, own_prefixes=(policy.company_short_code,))
              if p.severity == "error"]
    if errors:
        raise UserError(errors[0].message, "物流商未更正")
    new = binding_row(store, old.order_no, old.waybill_no, carrier, old.source, by, now, policy,
                          f"更正物流商 ({by}): {reason}", carriers)
    before = find_carrier(old.carrier_code, carriers)
    ws = WaybillStore(store)
    with store.transaction():
        ws.retire(old, now, by, f"更正物流商 {old.carrier} → {carrier.name}: {reason}", old.waybill_no)
        ws.set_state(old.waybill_no, "bound", now)
        ws.set_carrier(old.waybill_no, carrier.code)
        ws.insert_bindings([new])
        CarrierCorrections(store).apply(old.waybill_no, (before.kuaidi100_code if before else None) or old.carrier_code,
                                        carrier.kuaidi100_code or carrier.code, now, by=by, reason=reason)
        store.audit(now, by, "binding:carrier_corrected", "order", old.order_no,
                    {"waybill": old.waybill_no, "old_carrier": old.carrier_code, "new_carrier": carrier.code,
                     "reason": reason})
    sync = sync_workbooks(store, books, policy) if books is not None else None
    return ws.history(old.order_no)[-1], ws.current(old.order_no), sync
