"""A desk's health check: what is present, recognised, configured and missing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from xl_addin.config import load_settings
from xl_addin.desk import Desk
from xl_addin.errors import UserError

OK, WARNING, ERROR = "ok", "warning", "error"


@dataclass
class Finding:
    check: str
    status: str
    message: str

    def as_dict(self) -> dict:
        return {"check": self.check, "status": self.status, "message": self.message}


@dataclass
class DoctorReport:
    desk: Path
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not any(f.status == ERROR for f in self.findings)

    def add(self, check: str, status: str, message: str) -> None:
        self.findings.append(Finding(check, status, message))

    def as_dict(self) -> dict:
        return {"desk": str(self.desk), "healthy": self.healthy,
                "errors": sum(f.status == ERROR for f in self.findings),
                "warnings": sum(f.status == WARNING for f in self.findings),
                "findings": [f.as_dict() for f in self.findings]}


def examine_desk(root: Path, now: datetime) -> DoctorReport:
    from xl_addin.adapters.workbook.books import book
    from xl_addin.adapters.workbook.files import owner_file_for
    from xl_addin.adapters.workbook.reader import read_sheet
    from xl_addin.bootstrap import store_for
    from xl_addin.services.desk.setup import BOOK_KEYS

    root = Path(root).resolve()
    report = DoctorReport(root)
    try:
        settings = load_settings(root)
    except UserError as exc:
        report.add("config", ERROR, str(exc))
        return report
    desk = Desk(root, settings)
    if settings.source is None:
        report.add("config", ERROR, f"缺少配置文件 {desk.config_path.name}：请运行 xl-logistics init")
    else:
        report.add("config", OK, f"配置有效: {desk.config_path.name}")
        for warning in settings.warnings:
            report.add("config", WARNING, warning)
    busy = _workbook_locks(desk, report, now)  # first: reading the workbooks below takes their locks

    for key in BOOK_KEYS:
        path = desk.workbook(key)
        schema = book(key)
        if not path.exists():
            title = schema.title if schema.title.startswith("《") else f"《{schema.title}》"
            fix = ("运行 xl-logistics init --force 重建（旧文件先备份）" if desk.is_initialised()
                   else f"这个文件夹还不是台账：运行 xl-logistics init {root} 创建")
            report.add(f"workbook:{key}", ERROR, f"缺少{title}: {path.name}（{fix}）")
            continue
        if path.name in busy:  # reading it would wait for that job; its header is checked next time
            continue
        if owner_file_for(path).exists():
            report.add(f"workbook:{key}", WARNING, f"{path.name} 正在 Excel 中打开：后台任务不会改写它，结果先存入状态库")
        for sheet in schema.sheets:
            try:
                header = read_sheet(path, sheet)
            except UserError as exc:
                report.add(f"workbook:{key}", ERROR, str(exc))
                continue
            report.add(f"workbook:{key}", OK,
                       f"{path.name} / {header.sheet}: 第 {header.header_row} 行表头已识别（{len(header.columns)} 列，{len(header.rows)} 行数据）")

    if desk.store_path.exists():
        try:
            with store_for(desk) as store:
                problems = store.check()
                report.add("store", ERROR if problems else OK,
                           "；".join(problems) if problems else f"状态库正常（版本 {store.schema_version()}）")
                from xl_addin.adapters.store.waybills import changed_after_review

                for change in changed_after_review(store):
                    report.add("review", WARNING, change.get("message") or f"审核后变更: {change}")
        except UserError as exc:
            report.add("store", ERROR, str(exc))
    else:
        report.add("store", ERROR, "缺少状态库：请运行 xl-logistics init")

    _configured_services(desk, report, now)
    return report


def _workbook_locks(desk: Desk, report: DoctorReport, now: datetime) -> set[str]:
    """Workbook locks another job holds now: who (host, pid, command), since when; a holder that is gone is stale.
    Returns the names of the workbooks held (doctor does not wait for them)."""
    from xl_addin.adapters.workbook.lock import wait_seconds
    from xl_addin.adapters.workbook.lock_holders import held_locks

    from xl_addin.desk import STATE_DIRNAME

    held_now = held_locks(desk.root / STATE_DIRNAME / "locks" / "workbooks")
    for held in held_now:
        since = held.since.astimezone(now.tzinfo).strftime("%Y-%m-%d %H:%M:%S")
        minutes = max(0, int((now - held.since).total_seconds() // 60))
        if held.stale:
            report.add("lock", WARNING, f"{held.workbook} 的锁由已结束的进程持有（{held.holder}，自 {since}）："
                                        "若是网络盘上的残留锁，请确认没有任务在运行后删除 .xl-logistics/locks/workbooks 中对应文件")
        elif (now - held.since).total_seconds() > wait_seconds():
            report.add("lock", WARNING, f"{held.workbook} 正被 {held.holder} 使用，已 {minutes} 分钟（自 {since}）："
                                        "其他任务在等待它；若该任务卡住，请结束该进程")
        else:
            report.add("lock", OK, f"{held.workbook} 正被 {held.holder} 使用（自 {since}），本次不检查其表头")
    return {h.workbook for h in held_now}


def _configured_services(desk: Desk, report: DoctorReport, now: datetime) -> None:
    t = desk.settings.tracking
    has_creds = bool(os.environ.get(t.customer_env) and os.environ.get(t.key_env))
    if t.provider == "sandbox":
        report.add("tracking", OK, f"物流跟踪使用本地沙箱 {desk.settings.tracking_base_url()}"
                                   f"（在另一个窗口运行 xl-logistics sandbox --desk {desk.root} 启动它）")
    elif has_creds:
        report.add("tracking", OK, f"物流跟踪使用快递100（{desk.settings.tracking_base_url()}）")
    else:
        report.add("tracking", WARNING,
                   f"未配置物流跟踪：请设置环境变量 {t.customer_env} 和 {t.key_env}，或在配置 [tracking] provider 写 \"sandbox\"")
    if desk.settings.smtp.host:
        report.add("smtp", OK, f"邮件经 {desk.settings.smtp.host}:{desk.settings.smtp.port} 发送")
    else:
        report.add("smtp", OK, f"未配置 SMTP：邮件写入发件箱文件夹 {desk.outbox_dir.name}/")
    from xl_addin.domain.waybills.calendar import calendar_warning

    warning = calendar_warning(now.date())
    if warning:
        report.add("calendar", WARNING, warning)
