"""The weekly summary analysis (周度汇总分析), computed from the state store for any week.

Nothing here is kept only in a workbook: the same call over the same store gives the same numbers
for any past week, because every figure is taken "as of the week's end" from stored timestamps.

Definitions (week = ISO week, Monday 00:00 to Monday 00:00 desk time):
* received: orders first checked in the week; confirmed: confirmed in the week;
  shipped: current bindings made in the week (the carrier's volume); delivered: waybills whose
  delivered node falls in the week.
* on time: delivered on or before the expected delivery date (desk date); the rate is over the
  delivered waybills that have an expected date.
* transit hours: from the first moving node (picked up or later) to the delivered node;
  median and 90th percentile with linear interpolation between order statistics.
* exceptions opened / closed: cases found / closed in the week; complaints: cases opened from a
  customer complaint. SLA breaches: clocks due in the week and breached as of its end.
* open cases by age at the week's end: <1天, 1-3天, 3-7天, ≥7天.
* carrier exceptions per 1,000: cases found in the week per 1,000 waybills shipped in the week;
  claims: claims started in the week (count and amount); response: hours from found to the
  carrier's reply, over cases found in the week that have one.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import mean
from typing import Any
from zoneinfo import ZoneInfo

from xl_addin.adapters.store.cases import CaseStore
from xl_addin.adapters.store.store import Store
from xl_addin.adapters.store.week_figures import WeekFigures
from xl_addin.domain import cases as dc
from xl_addin.domain.sla import BREACHED, CLOCK_ZH, CLOCKS, LATE, SlaConfig, evaluate_case
from xl_addin.errors import UserError

CHINA = ZoneInfo("Asia/Shanghai")
AGE_BANDS = (("<1天", 24), ("1-3天", 72), ("3-7天", 168), ("≥7天", math.inf))
UNASSIGNED = "未判定"
COMPARED = ("orders_received", "orders_confirmed", "orders_shipped", "orders_delivered", "on_time_rate",
            "transit_median_hours", "transit_p90_hours", "exceptions_opened", "exceptions_closed", "complaints",
            "sla_breaches_total", "open_cases")
LABELS = {"orders_received": "接收订单", "orders_confirmed": "确认订单", "orders_shipped": "发货运单",
          "orders_delivered": "签收运单", "on_time_rate": "准时签收率", "transit_median_hours": "运输时长中位数(小时)",
          "transit_p90_hours": "运输时长P90(小时)", "exceptions_opened": "新增异常", "exceptions_closed": "结案异常",
          "complaints": "客户投诉", "sla_breaches_total": "SLA超时", "open_cases": "未结案件(周末)"}


def parse_week(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{4})-?W(\d{1,2})\s*", text or "", re.IGNORECASE)
    if not m:
        raise UserError(f"--week 的格式不对: {text!r}", "请写成 2026-W48")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise UserError(f"{year} 年没有第 {week} 周", "请检查周数") from None
    return year, week


def week_bounds(year: int, week: int, tz: ZoneInfo = CHINA) -> tuple[datetime, datetime]:
    monday = date.fromisocalendar(year, week, 1)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=tz)
    return start, start + timedelta(days=7)


def week_label(moment: datetime, tz: ZoneInfo = CHINA) -> str:
    y, w, _ = moment.astimezone(tz).isocalendar()
    return f"{y}-W{w:02d}"


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between order statistics (as spreadsheets' PERCENTILE.INC)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _age_band(hours: float) -> str:
    for label, limit in AGE_BANDS:
        if hours < limit:
            return label
    return AGE_BANDS[-1][0]


# ------------------------------------------------------------------ one week's raw figures

def _deliveries(store: Store, start: datetime, end: datetime, tz: ZoneInfo) -> list[dict[str, Any]]:
    out = []
    for d in WeekFigures(store).deliveries(start, end):
        delivered, first, expected = d["delivered_at"], d["first_moved_at"], d["expected"]
        hours = (delivered - first).total_seconds() / 3600 if first and first <= delivered else None
        on_time = None
        if expected:
            on_time = delivered.astimezone(tz).date() <= date.fromisoformat(expected[:10])
        out.append({"waybill_no": d["waybill_no"], "carrier_code": d["carrier_code"] or "", "hours": hours,
                    "on_time": on_time})
    return out


def _week(store: Store, start: datetime, end: datetime, tz: ZoneInfo, cfg: SlaConfig,
          cases_all: list[dict[str, Any]]) -> dict[str, Any]:
    figures = WeekFigures(store)
    received = figures.orders_checked(start, end)
    confirmed = figures.orders_confirmed(start, end)
    volume = figures.bound_by_carrier(start, end)
    deliveries = _deliveries(store, start, end, tz)

    def within(t: datetime | None) -> bool:
        return t is not None and start <= t < end

    opened = [c for c in cases_all if within(c["found_at"])]
    closed = [c for c in cases_all if within(c["closed_at"])]
    breaches: Counter[str] = Counter()
    breach_by_carrier: Counter[str] = Counter()
    max_limit = timedelta(minutes=max(cfg.limits.values()))
    for c in cases_all:
        if not (start - max_limit <= c["found_at"] < end):
            continue
        for clock in evaluate_case(c, end, cfg):
            if start <= clock.due < end and clock.state in (BREACHED, LATE):
                breaches[clock.clock] += 1
                breach_by_carrier[c.get("carrier_code") or ""] += 1
    open_at_end = [c for c in cases_all if c["found_at"] < end and (c["closed_at"] is None or c["closed_at"] >= end)]
    ages: Counter[str] = Counter(_age_band((end - c["found_at"]).total_seconds() / 3600) for c in open_at_end)
    hours = [d["hours"] for d in deliveries if d["hours"] is not None]
    timed = [d for d in deliveries if d["on_time"] is not None]
    return {
        "received": received, "confirmed": confirmed, "volume": volume, "deliveries": deliveries,
        "opened": opened, "closed": closed, "breaches": breaches,
        "overview": {
            "orders_received": received, "orders_confirmed": confirmed, "orders_shipped": sum(volume.values()),
            "orders_delivered": len(deliveries), "on_time_delivered": sum(1 for d in timed if d["on_time"]),
            "with_expected_date": len(timed), "on_time_rate": _rate(sum(1 for d in timed if d["on_time"]), len(timed)),
            "transit_median_hours": _r(percentile(hours, 0.5)), "transit_p90_hours": _r(percentile(hours, 0.9)),
            "exceptions_opened": len(opened), "exceptions_closed": len(closed),
            "complaints": sum(1 for c in opened if c.get("source") == "complaint"),
            "sla_breaches_total": sum(breaches.values()), "open_cases": len(open_at_end),
        },
        "opened_by_type": {t: sum(1 for c in opened if c["type"] == t) for t in dc.TYPES},
        "closed_by_type": {t: sum(1 for c in closed if c["type"] == t) for t in dc.TYPES},
        "sla_breaches": {k: breaches.get(k, 0) for k in CLOCKS},
        "open_by_age": {label: ages.get(label, 0) for label, _ in AGE_BANDS},
    }


# ------------------------------------------------------------------ the report

def _carrier_names(store: Store) -> dict[str, str]:
    return WeekFigures(store).carrier_names()


def _scorecard(store: Store, wk: dict[str, Any], start: datetime, end: datetime) -> list[dict[str, Any]]:
    names = _carrier_names(store)
    by_carrier: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in wk["deliveries"]:
        by_carrier[d["carrier_code"]].append(d)
    opened_by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in wk["opened"]:
        opened_by[c.get("carrier_code") or ""].append(c)
    cases_all = wk["cases_all"]
    claims: dict[str, list[Decimal]] = defaultdict(list)
    for c in cases_all:
        t = c.get("claim_started_at")
        if t is not None and start <= t < end:
            claims[c.get("carrier_code") or ""].append(Decimal(c.get("claim_amount") or "0"))
    carriers = sorted((set(wk["volume"]) | set(by_carrier) | set(opened_by) | set(claims)) - {""})
    out = []
    for code in carriers:
        dl = by_carrier.get(code, [])
        timed = [d for d in dl if d["on_time"] is not None]
        hours = [d["hours"] for d in dl if d["hours"] is not None]
        vol = wk["volume"].get(code, 0)
        cs = opened_by.get(code, [])
        replies = [(c["carrier_replied_at"] - c["found_at"]).total_seconds() / 3600 for c in cs
                   if c.get("carrier_replied_at") is not None and c["carrier_replied_at"] <= end]
        per_type = {t: (round(sum(1 for c in cs if c["type"] == t) * 1000 / vol, 2) if vol else None) for t in dc.TYPES}
        out.append({
            "carrier_code": code, "carrier": names.get(code, code), "volume": vol, "delivered": len(dl),
            "on_time_rate": _rate(sum(1 for d in timed if d["on_time"]), len(timed)),
            "transit_median_hours": _r(percentile(hours, 0.5)), "exceptions": len(cs),
            "exceptions_per_1000": per_type,
            "exceptions_per_1000_total": round(len(cs) * 1000 / vol, 2) if vol else None,
            "claims_count": len(claims.get(code, [])), "claims_amount": str(sum(claims.get(code, []), Decimal("0.00"))),
            "avg_response_hours": _r(mean(replies)) if replies else None,
        })
    ranked = sorted(out, key=lambda r: (-(r["on_time_rate"] if r["on_time_rate"] is not None else -1),
                                        r["exceptions_per_1000_total"] if r["exceptions_per_1000_total"] is not None else math.inf,
                                        r["transit_median_hours"] if r["transit_median_hours"] is not None else math.inf,
                                        r["carrier_code"]))
    for i, r in enumerate(ranked, start=1):
        r["rank"] = i
        r["best"] = i == 1 and len(ranked) > 1
        r["worst"] = i == len(ranked) and len(ranked) > 1
    return ranked


def _analysis(opened: list[dict[str, Any]], closed: list[dict[str, Any]], names: dict[str, str]) -> dict[str, Any]:
    matrix = Counter((c["type"], names.get(c.get("carrier_code") or "", c.get("carrier_code") or "未知"),
                      c.get("responsible_party") or UNASSIGNED) for c in opened)
    causes = Counter((c.get("cause") or "").strip() for c in opened if (c.get("cause") or "").strip())
    slow = sorted(closed, key=lambda c: (-(c["closed_at"] - c["found_at"]).total_seconds(), c["case_id"]))[:5]
    return {
        "matrix": [{"type": t, "carrier": k, "responsible_party": p, "count": n}
                   for (t, k, p), n in sorted(matrix.items(), key=lambda kv: (-kv[1], kv[0]))],
        "top_causes": [{"cause": cause, "count": n} for cause, n in
                       sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))[:5]],
        "slowest_to_close": [{"case_id": c["case_id"], "type": c["type"], "waybill_no": c.get("waybill_no"),
                              "carrier": names.get(c.get("carrier_code") or "", c.get("carrier_code") or ""),
                              "hours_to_close": round((c["closed_at"] - c["found_at"]).total_seconds() / 3600, 2)}
                             for c in slow],
    }


def weekly_summary(store: Store, week: str, *, tz: ZoneInfo = CHINA, config: SlaConfig | None = None) -> dict[str, Any]:
    """The week's overview (with previous week and 4-week average), carrier scorecard and exception analysis."""
    cfg = config or SlaConfig()
    year, num = parse_week(week)
    start, end = week_bounds(year, num, tz)
    earliest = start - timedelta(weeks=4)
    max_limit = timedelta(minutes=max(cfg.limits.values()))
    cases_all = CaseStore(store).found_or_closed_between(earliest - max_limit - timedelta(days=3650), end)
    weeks = []
    for back in range(4, -1, -1):
        s = start - timedelta(weeks=back)
        wk = _week(store, s, s + timedelta(days=7), tz, cfg, cases_all)
        wk["label"] = week_label(s, tz)
        weeks.append(wk)
    this = weeks[-1]
    this["cases_all"] = cases_all
    previous = weeks[-2]["overview"]
    compare = {}
    for k in COMPARED:
        past = [w["overview"][k] for w in weeks[:-1] if w["overview"][k] is not None]
        compare[k] = {"label": LABELS[k], "value": this["overview"][k], "previous": previous[k],
                      "avg4": round(mean(past), 4 if k == "on_time_rate" else 2) if past else None}
    names = _carrier_names(store)
    return {
        "week": f"{year}-W{num:02d}", "start": start.isoformat(), "end": end.isoformat(), "timezone": str(tz),
        "overview": this["overview"], "compare": compare,
        "exceptions_opened_by_type": this["opened_by_type"], "exceptions_closed_by_type": this["closed_by_type"],
        "sla_breaches": this["sla_breaches"], "sla_breach_names": dict(CLOCK_ZH),
        "open_cases_by_age": this["open_by_age"],
        "trend": [{"week": w["label"], "delivered": w["overview"]["orders_delivered"],
                   "shipped": w["overview"]["orders_shipped"], "on_time_rate": w["overview"]["on_time_rate"],
                   "exceptions_opened": w["overview"]["exceptions_opened"],
                   "transit_median_hours": w["overview"]["transit_median_hours"]} for w in weeks],
        "carriers": _scorecard(store, this, start, end),
        "analysis": _analysis(this["opened"], this["closed"], names),
    }


def write_summary(store: Store, week: str, out: Any, *, tz: ZoneInfo = CHINA, config: SlaConfig | None = None,
                  desk_name: str = "") -> dict[str, Any]:
    """Compute the summary and write the report workbook and its JSON twin; returns the data with their paths."""
    import json
    from pathlib import Path

    from xl_addin.adapters.workbook.report_book import write_report_book

    data = weekly_summary(store, week, tz=tz, config=config)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_report_book(data, out, desk_name=desk_name)
    twin = out.with_suffix(".json")
    tmp = twin.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.replace(twin)
    return {**data, "path": str(out), "json_path": str(twin)}
