"""A named person lets an order through despite an error the check found (stage 1's override).

Who, in which role, why and for which problem code is stored (and audited) before the workbook is
touched; the row then shows the release in its 问题说明 column. Prohibited goods, duplicates and
source mismatches are never let through (``domain.gates.NEVER_OVERRIDE``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from xl_addin.domain.gates import GatePolicy, Override, override_refusal
from xl_addin.errors import UserError


def record_override(path: Path, order_no: str, codes: list[str], *, by: str, role: str, reason: str,
                    now: datetime, store, tz_name: str = "Asia/Shanghai",
                    confirm_within: timedelta = timedelta(hours=1), backup_dir: Path | None = None,
                    policy: GatePolicy | None = None, rules=None):
    """Store one override per code (all or none), then check the sheet again; returns the row's report."""
    from xl_addin.adapters.store.entries import PersonEntries
    from xl_addin.domain.intake import check_order
    from xl_addin.services.intake.confirmation import find_order_row, recheck_row
    from xl_addin.services.intake.validation import USER_FIELDS

    if store is None:
        raise UserError("放行记录要存入状态库，只能在台账文件夹里使用", "请用 --desk 指定台账")
    policy = policy or GatePolicy()
    codes = [c.strip().upper() for c in codes if c and c.strip()]
    if not codes:
        raise UserError("请写明要放行的问题代码（如 PHONE_INVALID）", "问题代码见 validate 的输出方括号内")
    order_no = order_no.strip()
    path = Path(path).resolve()
    _table, match = find_order_row(path, order_no)
    found = {p.code: p.severity for p in check_order({k: match.values.get(k) for k in USER_FIELDS}, rules).problems}
    refusals = [f"{code}: {why}" for code in codes
                if (why := override_refusal(code, found.get(code), role, reason, by, policy))]
    if refusals:
        raise UserError(f"订单 {order_no}（第{match.row}行）不能放行 — " + "；".join(refusals),
                        "没有记录任何放行；请更正订单，或按提示补全批准人、角色和理由")
    entries = PersonEntries(store)
    with store.transaction():
        for code in codes:
            entries.add_override(order_no, Override(code, by.strip(), role.strip(), reason.strip(), now))
            store.audit(now, by.strip(), "order:override", "order", order_no,
                        {"code": code, "role": role.strip(), "reason": reason.strip()})
    return recheck_row(path, match.row, now, store=store, tz_name=tz_name, confirm_within=confirm_within,
                       backup_dir=backup_dir, policy=policy, rules=rules)
