"""Closing orders and the satisfaction follow-up (stage 5).

* ``complete_signed_orders``: every order whose waybill is signed becomes completed with the
  signing time, unless an exception case on it is open (then it waits; the next run completes it
  once the case is closed). A follow-up falls due 24 hours after signing.
* ``record_followup``: the order receiver's call; a "no" opens (or links to the open) damaged /
  delay case in the exception ledger.
* ``sync_followups_sheet``: answers typed into the 满意度回访 sheet are recorded, and the sheet
  shows every follow-up with its state (due / overdue / done).
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from xl_addin.adapters.store.followups import ClosingStore
from xl_addin.adapters.store.store import Store
from xl_addin.domain.closing import (
    DONE, FOLLOWUP_LABELS, cases_from_answers, followup_state, parse_score, parse_yes_no,
)
from xl_addin.errors import UserError
from xl_addin.services.closing.order_completion import (  # noqa: F401  (re-exported: close's callers)
    CloseResult, complete_on_signing, complete_signed_orders, open_case_ids,
)

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- follow-ups

def followup_list(store: Store, now: datetime, *, include_archived: bool = False) -> list[dict[str, Any]]:
    """Every follow-up with its state (due / overdue / done) and time left or overdue by."""
    cs = ClosingStore(store)
    archived = set() if include_archived else cs.archived_orders()
    out = []
    for f in cs.followups():
        if f["order_no"] in archived:
            continue
        state = followup_state(f["due_at"], f["contacted_at"], now)
        left = (f["due_at"] - now).total_seconds() / 3600
        out.append({**{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in f.items()},
                    "state": state, "state_zh": FOLLOWUP_LABELS[state],
                    "hours_left": None if state == DONE else round(left, 1)})
    return out


def _open_or_link(store: Store, now: datetime, order_no: str, waybill_no: str | None, request, by: str) -> str:
    from xl_addin.adapters.store.cases import CaseStore

    if waybill_no:
        existing = CaseStore(store).open_case_for(waybill_no, request.type)
        if existing:
            with store.transaction():
                CaseStore(store).add_history(existing["case_id"], now, by, "followup", None, order_no,
                                             note=request.description)
            return existing["case_id"]
    from xl_addin.services.cases.case_handling import report_exception

    case = report_exception(store, now, type=request.type, description=request.description, by=by,
                            waybill_no=waybill_no, order_no=order_no, source="complaint",  # the customer's own word
                            severity=request.severity)
    return case["case_id"]


def record_followup(store: Store, now: datetime, order_no: str, *, by: str, goods_intact: object,
                    speed_ok: object, score: object = None, comment: str = "",
                    contacted_at: datetime | None = None) -> dict[str, Any]:
    """Record the call; a "no" opens or links a case. UserError for an unknown order, a repeat or bad answers."""
    cs = ClosingStore(store)
    fu = cs.followup(order_no)
    if fu is None:
        raise UserError(f"订单 {order_no} 没有待回访记录（尚未签收或编号有误）", "请先运行 xl-logistics close，再核对订单编号")
    if fu["contacted_at"] is not None:
        raise UserError(f"订单 {order_no} 已于 {fu['contacted_at']:%Y-%m-%d %H:%M} 由 {fu['contacted_by']} 回访过",
                        "如需补充，请在异常台账里记录")
    if not str(by or "").strip():
        raise UserError("请写明回访人", "用 --by 姓名")
    try:
        intact, fast, stars = parse_yes_no(goods_intact), parse_yes_no(speed_ok), parse_score(score)
    except ValueError as exc:
        raise UserError(f"订单 {order_no} 的回访内容有误: {exc}", "货物完好/时效满意填 是 或 否，评分 1-5") from None
    if intact is None or fast is None:
        raise UserError(f"订单 {order_no} 的回访缺少“货物完好”或“时效满意”", "两项都要填 是 或 否")
    case_ids = [_open_or_link(store, now, order_no, fu["waybill_no"], req, by)
                for req in cases_from_answers(order_no, intact, fast, comment or "")]
    with store.transaction():
        cs.record_followup(order_no, contacted_at=contacted_at or now, by=by, goods_intact=intact, speed_ok=fast,
                           score=stars, comment=comment or "", case_ids=case_ids, now=now)
        store.audit(now, by, "followup:recorded", "order", order_no,
                    {"goods_intact": intact, "speed_ok": fast, "score": stars, "cases": case_ids})
    return {"order_no": order_no, "goods_intact": intact, "speed_ok": fast, "score": stars, "case_ids": case_ids,
            "on_time": (contacted_at or now) <= fu["due_at"]}


def _local(moment: datetime | None, tz: tzinfo) -> datetime | None:
    return moment.astimezone(tz).replace(tzinfo=None, microsecond=0) if moment else None


def _yes_no(v: bool | None) -> str | None:
    return None if v is None else ("是" if v else "否")


def sync_followups_sheet(path: Path, store: Store, now: datetime, tz: tzinfo, *,
                         backup_dir: Path | None) -> dict[str, Any]:
    """Read answers from the 满意度回访 sheet, then write every open-month follow-up back.

    Raises WorkbookLocked when the workbook is open in Excel (the store keeps everything)."""
    from xl_addin.adapters.workbook.books import FOLLOWUPS_SHEET
    from xl_addin.adapters.workbook.files import assert_not_open_in_excel
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.adapters.workbook.xml_patch import write_cells

    assert_not_open_in_excel(path)
    table = read_sheet(path, FOLLOWUPS_SHEET)
    cs = ClosingStore(store)
    recorded, problems = [], []
    for row in table.rows:
        v = row.values
        order_no = str(v.get("order_no") or "").strip()
        if not order_no or not (v.get("contacted_by") or v.get("contacted_at")):
            continue
        fu = cs.followup(order_no)
        if fu is None or fu["contacted_at"] is not None:
            continue
        when = v.get("contacted_at")
        when = when.replace(tzinfo=tz) if isinstance(when, datetime) and when.tzinfo is None else None
        try:
            recorded.append(record_followup(store, now, order_no, by=str(v.get("contacted_by") or "").strip(),
                                            goods_intact=v.get("goods_intact"), speed_ok=v.get("speed_satisfied"),
                                            score=v.get("score"), comment=str(v.get("comment") or ""),
                                            contacted_at=when))
        except UserError as exc:
            problems.append(f"第{row.row}行: {exc}")
    items = {f["order_no"]: f for f in cs.followups() if f["order_no"] not in cs.archived_orders()}
    existing = {str(r.values.get("order_no") or "").strip(): r.row for r in table.rows}
    next_row = max([table.header_row] + [r.row for r in table.rows]) + 1
    cells: dict[tuple[int, int], object] = {}
    for order_no, f in items.items():
        r = existing.get(order_no)
        if r is None:
            r, next_row = next_row, next_row + 1
        state = followup_state(f["due_at"], f["contacted_at"], now)
        values = {"order_no": order_no, "signed_at": _local(f["signed_at"], tz), "due_at": _local(f["due_at"], tz),
                  "followup_status": FOLLOWUP_LABELS[state]}
        if f["contacted_at"] is not None:
            values.update(contacted_at=_local(f["contacted_at"], tz), contacted_by=f["contacted_by"],
                          goods_intact=_yes_no(f["goods_intact"]), speed_satisfied=_yes_no(f["speed_ok"]),
                          score=f["score"], comment=f["comment"] or None)
        for key, value in values.items():
            if key in table.columns:
                cells[(r, table.columns[key])] = value
    if cells:
        write_cells(path, table.sheet, table.header_row, {}, cells, backup_dir=backup_dir, append_table_rows=True)
    return {"recorded": recorded, "problems": problems, "rows": len(items)}


def sync_followups_book(path: Path | None, store: Store, now: datetime, tz: tzinfo, *,
                        backup_dir: Path | None) -> dict[str, Any]:
    """``sync_followups_sheet`` on the desk's Order Confirmation workbook, as close and the follow-up commands
    do it: a missing workbook or one open in Excel is skipped (the store keeps everything) and said so."""
    from xl_addin.errors import WorkbookLocked

    if path is None or not path.exists():
        return {"written": False, "message": "找不到订单确认单，回访表未更新", "recorded": [], "problems": []}
    try:
        out = sync_followups_sheet(path, store, now, tz, backup_dir=backup_dir)
    except WorkbookLocked as exc:
        return {"written": False, "message": f"订单确认单正在 Excel 中打开，回访表下次更新（{exc.message}）",
                "recorded": [], "problems": []}
    return {"written": True, "message": "满意度回访表已更新", **out}


def followup_counts(items: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"due": 0, "overdue": 0, "done": 0}
    for f in items:
        counts[f["state"]] += 1
    return counts


def due_within(items: list[dict[str, Any]], hours: float) -> list[dict[str, Any]]:
    """Open follow-ups due within ``hours`` (or already overdue): what the daily reminder lists."""
    return [f for f in items if f["state"] != DONE and (f["hours_left"] is None or f["hours_left"] <= hours)]


__all__ = ["CloseResult", "complete_signed_orders", "complete_on_signing", "followup_list", "record_followup",
           "sync_followups_sheet", "sync_followups_book", "followup_counts", "due_within", "open_case_ids"]


def write_followups_report(items: list[dict[str, Any]], out_dir: Path, now: datetime, tz: tzinfo) -> Path:
    """The open follow-ups as a small workbook (the reminder e-mail's attachment)."""
    from xl_addin.adapters.workbook.list_book import write_list_book

    rows = [[f["order_no"], f["waybill_no"], _local(datetime.fromisoformat(f["signed_at"]), tz),
             _local(datetime.fromisoformat(f["due_at"]), tz), f["state_zh"], f["hours_left"]] for f in items]
    return write_list_book(out_dir / f"满意度回访-{now.astimezone(tz):%Y-%m-%d}.xlsx", "满意度回访",
                           ["订单编号", "物流单号", "签收时间", "回访截止", "回访状态", "剩余小时"], rows,
                           text_columns=(1, 2), time_columns=(3, 4))
