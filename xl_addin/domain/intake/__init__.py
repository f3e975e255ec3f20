"""Stage 1 order checks (订单接收与信息核对) as pure domain rules.

Public API::

    rules = IntakeRules.default()
    result = check_order(fields, rules)          # -> CheckResult
    dups = DuplicateTracker(known=confirmed_order_numbers)
    problem = dups.check(order_no)               # -> Problem | None

Data (keyword lists, tags, divisions) is read lazily on first use, so
importing this package stays cheap.
"""

from .address import AddressParse, parse_address
from .checks import FIELD_LABELS, REQUIRED, check_order
from .duplicates import DuplicateTracker, order_key
from .goods import check_goods
from .phone import normalize_phone, read_phone
from .quantities import parse_quantity, parse_volume, parse_weight
from .rules import IntakeRules
from .tags import parse_tags

__all__ = [
    "AddressParse",
    "DuplicateTracker",
    "FIELD_LABELS",
    "IntakeRules",
    "REQUIRED",
    "check_goods",
    "check_order",
    "normalize_phone",
    "read_phone",
    "order_key",
    "parse_address",
    "parse_quantity",
    "parse_tags",
    "parse_volume",
    "parse_weight",
]
