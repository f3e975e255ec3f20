"""One order row as the intake checks see it, and the problem codes of a check's result."""

from __future__ import annotations

from datetime import datetime

def row(**overrides):
    base = {
        "order_no": "SO20241028001",
        "customer": "杭州云栖贸易有限公司",
        "goods_name": "筋膜枪 深层按摩",
        "spec": "黑色 标准款",
        "quantity": 2,
        "weight_kg": 1.8,
        "volume_m3": 0.01,
        "receiver": "王小明",
        "receiver_phone": 13800138000.0,
        "address": "浙江省杭州市西湖区文三路100号华星大厦5楼",
        "special_requirements": "易碎，加急",
        "channel": "天猫后台",
        "received_at": datetime(2026, 11, 20, 9, 30),
        "customer_contact": "李娜 13900139000",
    }
    base.update(overrides)
    return base


def codes(result):
    return [(p.code, p.column) for p in result.problems]
