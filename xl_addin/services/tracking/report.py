"""What a refresh run did: the counts, the failures, what staff read in 最近运行.xlsx."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

@dataclass
class RefreshResult:
    as_of: datetime
    provider: str = ""
    queried: int = 0
    updated: int = 0
    unchanged: int = 0
    not_found: int = 0
    failed: int = 0
    skipped_by_rule: int = 0
    not_due: int = 0
    anomalies: int = 0
    anomalies_opened: int = 0
    anomalies_resolved: int = 0
    cases_opened: int = 0
    new_events: int = 0
    manual_ingested: int = 0
    resumed_from: int | None = None
    resumed_done: int = 0
    unknown_codes: list[str] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    workbook_written: bool = False
    workbook_message: str = ""
    kept_by_push: int = 0
    waiting_for_check: int = 0  # "请核对物流商或单号" open and asked today: left for a person
    notices: dict = field(default_factory=dict)
    seconds: float = 0.0
    query_seconds: float = 0.0
    requests: int = 0

    def counts(self) -> dict[str, int]:
        return {"queried": self.queried, "updated": self.updated, "unchanged": self.unchanged,
                "not_found": self.not_found, "failed": self.failed, "skipped_by_rule": self.skipped_by_rule,
                "anomalies": self.anomalies, "cases_opened": self.cases_opened}

    @property
    def job_status(self) -> str:
        """How 最近运行.xlsx shows the run: 部分失败 when any waybill could not be queried."""
        return "partial" if self.failed else "ok"

    def summary_zh(self) -> str:
        """One line for 最近运行.xlsx and the job log: the counts, then each failed waybill's reason."""
        text = "查询 {queried}，有更新 {updated}，失败 {failed}，异常 {anomalies}".format(**self.counts())
        failed = [p for p in self.problems if p.get("waybill_no")]
        if failed:
            first = failed[0]
            text += f"。失败原因: {first['waybill_no']} {first['message']}；{first['hint']}".rstrip("；")
            if len(failed) > 1:
                text += f"（另有 {len(failed) - 1} 单，见跟踪记录表“异常原因”列或 xl-logistics track 单号）"
        return text

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["as_of"] = self.as_of.isoformat()
        d["counts"] = self.counts()
        return d
