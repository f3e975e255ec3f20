"""Typed desk settings with commented defaults.

The config file is meant to be edited by a data administrator in Notepad, so
the default text carries a comment on every key, and a wrong value is reported
with its section and key rather than a traceback.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from xl_addin.errors import ConfigError

CONFIG_FILENAME = "xl-logistics.toml"

DEFAULT_CONFIG_TEXT = """\
# xl-logistics 物流台账配置 (desk configuration)
# 保密信息 (API key、SMTP 密码) 从不写在这里: 只写环境变量的名字。
# Secrets never live here: name the environment variable that holds them.

[desk]
name = "物流部"                  # desk name shown in reports
company_short_code = "XL"       # our own short code for automatic waybill numbers (numbering = "company")
timezone = "Asia/Shanghai"      # carrier times have no zone; they are read in this one
shipper_province = "浙江省"      # where goods ship from: decides price groups and transit days

[workbooks]                     # file names inside the desk folder
orders = "订单确认单.xlsx"
bindings = "物流单号绑定表.xlsx"
tracking = "实时物流跟踪记录表.xlsx"
exceptions = "异常订单处理台账.xlsx"

[intake]
confirm_within_minutes = 60     # the procedure's 1-hour rule for problem rows
extra_goods_file = ""           # optional CSV/TSV (term, category, kind=prohibited|allowed|restricted) extending the keyword lists
# Errors (prohibited goods, invalid phone, address short of street and number, missing fields, impossible
# quantities) always stop an order: only a corrected row or an override clears them, never the customer's 已确认.
# Every warning waits for the customer's confirmation, except the codes listed here, which only tag the order:
tag_only = ["RESTRICTED_GOODS"] # warning codes that add special_tag and go on at once (no 1-hour wait)
special_tag = "特殊处理"          # the tag those orders get (the 标签 column; allocation sees it)
override_roles = ["物流主管"]      # roles that may let an error through: xl-logistics override ORDER CODE --role ...
max_pieces = 10000              # plausibility ceilings: a row above one is held as a likely typo
max_weight_kg = 30000
max_volume_m3 = 150
parallel_from_rows = 0          # `validate` checks sheets with at least this many rows on every core (0: always one core; try 50000 on a PC with idle cores)
workers = 0                     # processes for that (0: one per core)
order_sheet = ""                # the sheet `validate` and the ribbon read in the Order Confirmation when several carry the order header (empty: found by header; --sheet overrides)
export_sheet = ""               # the sheet `import` reads in an .xlsx export (empty: the first visible sheet with data; --sheet overrides)

[waybills]
numbering = "carrier"           # "carrier": carrier short code + YYYYMMDD + 6-digit serial; "company": company_short_code + ...
bound_by = "系统"                # name recorded for automatic bindings

[tracking]
provider = ""                   # "kuaidi100" or "sandbox"; empty: kuaidi100 when the credentials below are set
base_url = ""                   # empty: the real service; the KUAIDI100_BASE_URL environment variable overrides
customer_env = "KUAIDI100_CUSTOMER"   # environment variable holding the account id
key_env = "KUAIDI100_KEY"             # environment variable holding the key
salt_env = "KUAIDI100_SALT"           # environment variable holding the push-signature salt
callback_url = ""               # public URL of `xl-logistics serve` for push subscriptions
resubscribe_on_abort = true     # an aborted subscription ("3天查询无记录") is subscribed again once; false: escalate at once
trust_push_hours = 24           # refresh skips a subscribed waybill the provider pushed within this many hours
refresh_interval_minutes = 120  # the procedure's 2-hour sync
requests_per_second = 1.0       # account-wide rate limit
concurrency = 4                 # parallel requests
no_pickup_hours = 24            # anomaly: no pickup scan this long after binding
after_pickup_hours = 24         # anomaly: 揽后24小时未更新
in_transit_hours = 48           # anomaly: 中转停滞超48小时
no_record_days = 3              # anomaly: no record at all this many days after binding → 请核对物流商或单号
pause_on_non_working_days = false   # true: anomaly clocks stop on weekends and public holidays
keep_delivered_days = 3         # delivered waybills leave the 跟踪总览 sheet after this many days
node_days = 7                   # the 节点明细 sheet shows this many recent days of nodes

[notifications]
enabled = false                 # false: intended messages are written to the outbox folder
key_nodes = ["已揽收", "派件中", "已签收"]
quiet_hours = "22:00-08:00"
channels = ["email", "sms", "webhook"]   # who hears about a key node; a channel not configured writes to the outbox

[smtp]
host = ""                       # empty: e-mail is written as .eml files to the outbox folder
port = 587
security = "starttls"           # "starttls", "ssl" or "none"
username = ""
password_env = "XL_LOGISTICS_SMTP_PASSWORD"
sender = ""
summary_to = []                 # distribution list of the weekly summary e-mail, e.g. ["boss@example.com"]
archive_to = []                 # distribution list of the monthly archive e-mail
followups_to = []               # distribution list of the follow-up reminder e-mail

[schedule]
refresh_every_hours = 2
weekly_summary = "MON 09:00"
monthly_archive_day = 1
monthly_archive_time = "06:00"  # the archive of last month runs at this time on monthly_archive_day
followup_reminder_time = "09:30"   # daily e-mail of follow-ups due or overdue
followup_hours = 24             # the satisfaction follow-up is due this many hours after signing
health_every_hours = 1          # how often `schedule` checks the push receiver
receiver_health_url = ""        # e.g. "http://127.0.0.1:8766/healthz"; empty: the health check is skipped

[store]
url = ""                        # empty: SQLite inside the desk; XL_LOGISTICS_DATABASE_URL overrides
"""


@dataclass
class DeskSection:
    name: str = "物流部"
    company_short_code: str = "XL"
    timezone: str = "Asia/Shanghai"
    shipper_province: str = "浙江省"


@dataclass
class WorkbooksSection:
    orders: str = "订单确认单.xlsx"
    bindings: str = "物流单号绑定表.xlsx"
    tracking: str = "实时物流跟踪记录表.xlsx"
    exceptions: str = "异常订单处理台账.xlsx"


@dataclass
class IntakeSection:
    confirm_within_minutes: int = 60
    extra_goods_file: str = ""
    tag_only: list = field(default_factory=lambda: ["RESTRICTED_GOODS"])
    special_tag: str = "特殊处理"
    override_roles: list = field(default_factory=lambda: ["物流主管"])
    max_pieces: int = 10000
    max_weight_kg: int = 30000
    max_volume_m3: int = 150
    parallel_from_rows: int = 0
    workers: int = 0
    order_sheet: str = ""
    export_sheet: str = ""


@dataclass
class WaybillsSection:
    numbering: str = "carrier"
    bound_by: str = "系统"


@dataclass
class TrackingSection:
    provider: str = ""
    base_url: str = ""
    customer_env: str = "KUAIDI100_CUSTOMER"
    key_env: str = "KUAIDI100_KEY"
    salt_env: str = "KUAIDI100_SALT"
    callback_url: str = ""
    resubscribe_on_abort: bool = True
    trust_push_hours: int = 24
    refresh_interval_minutes: int = 120
    requests_per_second: float = 1.0
    concurrency: int = 4
    no_pickup_hours: int = 24
    after_pickup_hours: int = 24
    in_transit_hours: int = 48
    no_record_days: int = 3
    pause_on_non_working_days: bool = False
    keep_delivered_days: int = 3
    node_days: int = 7


@dataclass
class NotificationsSection:
    enabled: bool = False
    key_nodes: list = field(default_factory=lambda: ["已揽收", "派件中", "已签收"])
    quiet_hours: str = "22:00-08:00"
    channels: list = field(default_factory=lambda: ["email", "sms", "webhook"])


@dataclass
class SmtpSection:
    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "XL_LOGISTICS_SMTP_PASSWORD"
    sender: str = ""
    summary_to: list = field(default_factory=list)
    archive_to: list = field(default_factory=list)
    followups_to: list = field(default_factory=list)


@dataclass
class ScheduleSection:
    refresh_every_hours: int = 2
    weekly_summary: str = "MON 09:00"
    monthly_archive_day: int = 1
    monthly_archive_time: str = "06:00"
    followup_reminder_time: str = "09:30"
    followup_hours: int = 24
    health_every_hours: int = 1
    receiver_health_url: str = ""


@dataclass
class StoreSection:
    url: str = ""


_SECTIONS = {
    "desk": DeskSection,
    "workbooks": WorkbooksSection,
    "intake": IntakeSection,
    "waybills": WaybillsSection,
    "tracking": TrackingSection,
    "notifications": NotificationsSection,
    "smtp": SmtpSection,
    "schedule": ScheduleSection,
    "store": StoreSection,
}

_CHOICES = {
    ("waybills", "numbering"): ("carrier", "company"),
    ("tracking", "provider"): ("", "kuaidi100", "sandbox"),
    ("smtp", "security"): ("starttls", "ssl", "none"),
}


@dataclass
class Settings:
    desk: DeskSection = field(default_factory=DeskSection)
    workbooks: WorkbooksSection = field(default_factory=WorkbooksSection)
    intake: IntakeSection = field(default_factory=IntakeSection)
    waybills: WaybillsSection = field(default_factory=WaybillsSection)
    tracking: TrackingSection = field(default_factory=TrackingSection)
    notifications: NotificationsSection = field(default_factory=NotificationsSection)
    smtp: SmtpSection = field(default_factory=SmtpSection)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    store: StoreSection = field(default_factory=StoreSection)
    source: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def store_url(self, env: dict[str, str] | None = None) -> str:
        env = os.environ if env is None else env
        return env.get("XL_LOGISTICS_DATABASE_URL") or self.store.url

    def tracking_base_url(self, env: dict[str, str] | None = None) -> str:
        env = os.environ if env is None else env
        return env.get("KUAIDI100_BASE_URL") or self.tracking.base_url or "https://poll.kuaidi100.com"


def _coerce(section: str, key: str, value: Any, default: Any, path: Path) -> Any:
    where = f"[{section}] {key}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} 应为 true 或 false，实际是 {value!r}", "请改成 true 或 false", path=str(path))
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} 应为整数，实际是 {value!r}", "请填写整数，例如 60", path=str(path))
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} 应为数字，实际是 {value!r}", "请填写数字，例如 1.0", path=str(path))
        return float(value)
    if isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"{where} 应为列表，实际是 {value!r}", '请写成 ["a", "b"]', path=str(path))
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{where} 应为文本，实际是 {value!r}", "请用引号括起来", path=str(path))
    choices = _CHOICES.get((section, key))
    if choices and value not in choices:
        raise ConfigError(f"{where} 不能是 {value!r}", f"可选值: {', '.join(repr(c) for c in choices)}", path=str(path))
    return value


def parse_settings(data: dict[str, Any], path: Path) -> Settings:
    settings = Settings(source=path)
    for section, content in data.items():
        cls = _SECTIONS.get(section)
        if cls is None:
            settings.warnings.append(f"未知的配置节 [{section}]，已忽略")
            continue
        if not isinstance(content, dict):
            raise ConfigError(f"[{section}] 应是一个配置节", path=str(path))
        target = getattr(settings, section)
        known = {f.name for f in fields(cls)}
        for key, value in content.items():
            if key not in known:
                settings.warnings.append(f"未知的配置项 [{section}] {key}，已忽略")
                continue
            setattr(target, key, _coerce(section, key, value, getattr(target, key), path))
    from xl_addin.config.timezone import DEFAULT_ZONE, zone_named

    settings.desk.timezone = str(settings.desk.timezone).strip() or DEFAULT_ZONE
    zone_named(settings.desk.timezone, path=str(path))  # refused here, so no later ZoneInfo call can crash on it
    return settings


def load_settings(desk_dir: Path) -> Settings:
    """Settings of the desk at ``desk_dir``; defaults when it has no config file."""
    path = Path(desk_dir) / CONFIG_FILENAME
    if not path.exists():
        return Settings(source=None)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError("配置文件不是 UTF-8 编码", "请用记事本另存为 UTF-8", path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件格式错误: {exc}", "请对照 xl-logistics init 生成的默认配置修改", path=str(path)) from None
    return parse_settings(data, path)
