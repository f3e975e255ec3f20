"""The text a row carries while its source sent different content and no person has chosen yet."""

from __future__ import annotations

from typing import Any

MISMATCH_MARK = "[SOURCE_MISMATCH]"


def mismatch_text(src_name: str, row_no: int, shown: list[dict[str, Any]], order_no: str) -> str:
    parts = "；".join(f"{d['label']}: 表中“{d['current']}” / 来源“{d['incoming']}”" for d in shown)
    return (f"✗ 来源不一致{MISMATCH_MARK} {src_name}第{row_no}行再次发来此订单，内容不同 — {parts}。"
            f"表中内容未改动；核对后用 import … --accept-changes {order_no} --by 姓名 采用新值，"
            f"或 --keep-current {order_no} 保留")
