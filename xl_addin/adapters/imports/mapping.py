"""Guess which export column feeds which Order Confirmation column.

First the schema's own labels, keys and aliases (``header_key``); then the names
Chinese back offices and ERPs commonly use; then a few "contains" rules for
the rest. Exact matches beat common names beat "contains"; one source column
feeds at most one of ours. Only the user's columns are targets: the check
columns belong to ``validate``.
"""

from __future__ import annotations

from dataclasses import dataclass

from xl_addin.adapters.workbook.schema import USER, header_key
from xl_addin.errors import UserError

HEADER_SCAN_ROWS = 10

# Names seen in Taobao/Tmall, JD, Pinduoduo, Douyin, Youzan and ERP (Wangdiantong, Jushuitan...) exports.
COMMON_NAMES: dict[str, tuple[str, ...]] = {
    "order_no": ("订单号", "订单编号", "外部订单号", "外部单号", "平台订单号", "平台单号", "原始单号", "网店订单号",
                 "线上订单号", "主订单编号", "子订单编号", "交易单号", "单据编号"),
    "customer": ("买家昵称", "买家会员名", "买家账号", "买家", "客户", "客户名称", "店铺名称", "店铺", "下单人",
                 "会员名"),
    "goods_name": ("商品名称", "宝贝标题", "商品标题", "商品", "货品名称", "产品名称", "品名", "物品名称"),
    "spec": ("商品规格", "销售属性", "规格型号", "sku属性", "规格名称", "颜色分类"),
    "quantity": ("购买数量", "商品数量", "宝贝数量", "货品数量", "数量", "件数", "购买件数"),
    "weight_kg": ("重量", "商品重量", "毛重", "重量kg", "重量(千克)", "重量（公斤）"),
    "volume_m3": ("体积", "商品体积"),
    "receiver": ("收件人", "收货人", "收货人姓名", "收件人姓名", "联系人", "收货人名称"),
    "receiver_phone": ("联系电话", "联系手机", "手机", "手机号", "手机号码", "收货人手机", "收货人电话", "收件人手机",
                       "收件人电话", "收货人联系方式", "联系方式", "电话"),
    "address": ("详细地址", "收货地址", "收件地址", "收货人地址", "收件人地址", "详细收货地址", "地址"),
    "special_requirements": ("买家留言", "订单备注", "卖家备注", "备注", "特殊要求", "买家备注"),
    "channel": ("来源平台", "销售渠道", "平台", "订单来源"),
    "received_at": ("下单时间", "付款时间", "创建时间", "订单创建时间", "支付时间", "成交时间"),
    "customer_contact": ("客户联系人",),
    "preferred_carrier": ("指定快递", "快递公司", "物流公司", "指定物流"),
}

# "contains" rules, tried in order, for headers none of the above name exactly
CONTAINS_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("receiver_phone", ("电话", "手机", "phone", "mobile", "tel"), ()),
    ("address", ("地址", "address"), ("邮箱", "email", "ip")),
    ("quantity", ("数量", "qty", "quantity"), ()),
    ("order_no", ("订单号", "订单编号", "单号", "orderid", "orderno"), ("物流", "快递", "运单")),
    ("receiver", ("收货人", "收件人", "consignee", "receiver", "recipient"), ()),
    ("goods_name", ("商品", "宝贝", "货品", "product", "item"), ("价", "金额", "编码", "id", "数量")),
    ("received_at", ("时间", "日期", "time", "date"), ("发货", "签收")),
)


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    required: bool


def user_targets() -> dict[str, Target]:
    from xl_addin.adapters.workbook.books import ORDERS

    return {c.key: Target(c.key, c.label, c.required) for c in ORDERS.sheets[0].columns if c.owner == USER}


def _exact_index() -> dict[str, str]:
    from xl_addin.adapters.workbook.books import ORDERS

    index: dict[str, str] = {}
    for c in ORDERS.sheets[0].columns:
        if c.owner == USER:
            for k in c.header_keys():
                index.setdefault(k, c.key)
    return index


def _common_index() -> dict[str, str]:
    return {header_key(name): key for key, names in COMMON_NAMES.items() for name in names}


def target_column(text: str) -> str:
    """The user column a person names on ``--map`` (label, key, alias or common name)."""
    k = header_key(text)
    key = _exact_index().get(k) or _common_index().get(k)
    if key is None:
        labels = "、".join(t.label for t in user_targets().values())
        raise UserError(f"--map 里的“{text}”不是订单确认单的列", f"可用的列：{labels}")
    return key


def _score(header: list[object]) -> dict[str, tuple[int, int]]:
    """{key: (rank, column index)}: rank 0 exact, 1 common name, 2 contains."""
    exact, common = _exact_index(), _common_index()
    found: dict[str, tuple[int, int]] = {}
    taken: set[int] = set()
    for rank in (0, 1, 2):
        for j, cell in enumerate(header):
            if cell is None or j in taken:
                continue
            k = header_key(cell)
            if not k:
                continue
            if rank == 0:
                key = exact.get(k)
            elif rank == 1:
                key = common.get(k)
            else:
                key = next((t for t, needles, unless in CONTAINS_RULES
                            if any(n in k for n in needles) and not any(u in k for u in unless)), None)
            if key is not None and key not in found:
                found[key] = (rank, j)
                taken.add(j)
    return found


def guess_mapping(header: list[object]) -> dict[str, str]:
    """{our column key: the export's header text}, best guess."""
    return {key: str(header[j]).strip() for key, (_, j) in sorted(_score(header).items(), key=lambda kv: kv[1][1])}


def guess_kinds(header: list[object]) -> dict[str, str]:
    """How each guess was made, for showing people: 列名相同 / 常用名称 / 名称相近."""
    words = ("列名相同", "常用名称", "名称相近")
    return {key: words[rank] for key, (rank, _) in _score(header).items()}


def find_header_row(rows: list[tuple[int, list[object]]], mapping: dict[str, str] | None = None) -> int:
    """Index (into ``rows``) of the header: the first-10 row naming most saved headers, or most guessable ones."""
    best, best_i = -1, 0
    for i, (_, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        if mapping:
            keys = {header_key(c) for c in cells if c is not None}
            n = sum(header_key(h) in keys for h in mapping.values())
        else:
            n = sum(rank < 2 for rank, _ in _score(cells).values()) * 10 + len(_score(cells))
        if n > best:
            best, best_i = n, i
    return best_i


def parse_map_options(items: tuple[str, ...] | list[str]) -> dict[str, str | None]:
    """``订单编号=外部单号`` (ours=theirs, several per option with commas) → {key: header}; ``规格=`` unmaps."""
    out: dict[str, str | None] = {}
    for item in items:
        for part in str(item).replace("，", ",").split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise UserError(f"--map 的写法不对: {part!r}", "请写成 订单编号=外部单号（左边是订单确认单的列，右边是导出文件的列）")
            ours, theirs = part.split("=", 1)
            out[target_column(ours.strip())] = theirs.strip() or None
    return out
