"""Which provider company code a waybill is really tracked under, when it was corrected.

A correction comes from Kuaidi100 (``autoCheck=1``, or an abort that names ``comNew``) or from
a person; it is kept per waybill, audited once per change (a re-sent push that repeats it is
no change), and read by every later query and subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from xl_addin.adapters.store.store import Store, utc_iso

KUAIDI100 = "快递100"


@dataclass(frozen=True)
class CarrierCorrection:
    waybill_no: str
    com_old: str | None
    com_new: str
    corrected_at: str
    corrected_by: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CarrierCorrections:
    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    def get(self, waybill_no: str) -> CarrierCorrection | None:
        r = self.conn.execute("SELECT waybill_no, com_old, com_new, corrected_at, corrected_by, reason "
                              "FROM carrier_corrections WHERE waybill_no = ?", (waybill_no,)).fetchone()
        return CarrierCorrection(*r) if r else None

    def of(self, waybills: Iterable[str] | None = None) -> dict[str, CarrierCorrection]:
        """{waybill: correction} for these waybills (all when None)."""
        if waybills is None:
            rows = self.conn.execute("SELECT waybill_no, com_old, com_new, corrected_at, corrected_by, reason "
                                     "FROM carrier_corrections").fetchall()
            return {r[0]: CarrierCorrection(*r) for r in rows}
        wanted = list(dict.fromkeys(waybills))
        out: dict[str, CarrierCorrection] = {}
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            for r in self.conn.execute(
                    "SELECT waybill_no, com_old, com_new, corrected_at, corrected_by, reason FROM carrier_corrections "
                    f"WHERE waybill_no IN ({', '.join('?' * len(part))})", part):
                out[r[0]] = CarrierCorrection(*r)
        return out

    def codes(self, waybills: Iterable[str] | None = None) -> dict[str, str]:
        """{waybill: corrected provider code}: what every later request must use."""
        return {w: c.com_new for w, c in self.of(waybills).items()}

    def apply(self, waybill_no: str, com_old: str | None, com_new: str, now: datetime, *, by: str = KUAIDI100,
              reason: str = "") -> bool:
        """Record that ``waybill_no`` is tracked under ``com_new`` (inside a transaction). Returns False and
        changes nothing when that is already the case (a repeated push); audits the change once."""
        com_new = (com_new or "").strip().lower()
        if not com_new:
            return False
        current = self.get(waybill_no)
        if current is not None and current.com_new == com_new:
            return False
        old = current.com_new if current is not None else ((com_old or "").strip().lower() or None)
        if old == com_new:
            return False
        self.conn.execute(
            "INSERT INTO carrier_corrections (waybill_no, com_old, com_new, corrected_at, corrected_by, reason) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (waybill_no) DO UPDATE SET com_old = excluded.com_old, "
            "com_new = excluded.com_new, corrected_at = excluded.corrected_at, corrected_by = excluded.corrected_by, "
            "reason = excluded.reason", (waybill_no, old, com_new, utc_iso(now), by, reason or ""))
        self.store.audit(now, by, "carrier_corrected", "waybill", waybill_no,
                         {"com_old": old, "com_new": com_new, "reason": reason or ""})
        return True
