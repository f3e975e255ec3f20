"""The four desk workbooks, declared once.

Templates (``templates.py``), header matching in readers and the set of cells
writers may touch all come from these declarations. Column *keys* are the
names the rest of the code uses; labels and aliases are what people see and
type. Keys are fixed: other modules rely on them.

A choice column (``choices``) gets a dropdown. Most dropdowns are strict;
the columns in ``OPEN_CHOICES`` only suggest values, because people write
free text there (several requirements at once, a carrier not in the list).
"""

from __future__ import annotations

from .schema import (
    DATE,
    DATETIME,
    INT,
    MONEY,
    NUMBER,
    PHONE,
    PRODUCT,
    SHARED,
    USER,
    BookSchema,
    Column,
    SheetSchema,
)

from .book_columns import (  # noqa: F401  (formats and choice lists are read from books by other modules)
    DATETIME_FORMAT, DATE_FORMAT, MONEY_FORMAT, TEXT_FORMAT, _DEFAULT_FORMATS, YES_NO, CARRIER_NAMES, NODE_NAMES, SPECIAL_REQUIREMENT_TAGS, _col, _order_no, _waybill_no, _carrier,
)

# ---------------------------------------------------------------- orders ---

ORDERS_SHEET = SheetSchema(
    name="订单确认单",
    table="Orders",
    problem_column="check_status",
    problem_values=("有问题", "待复核"),
    columns=(
        _order_no(USER, required=True, help="必填。客户原始订单上的订单编号，不可重复"),
        _col("customer", "客户名称", "customer", "customer name", "client", "buyer", "客户",
             required=True, width=18.0, help="必填。下单客户（公司或个人）"),
        _col("goods_name", "货物名称", "goods_name", "goods name", "goods", "product name", "item name",
             "SKU name", "商品名称", required=True, width=20.0, help="必填。不得含禁寄物品"),
        _col("spec", "规格", "spec", "specification", "model", "型号", width=12.0, help="规格型号"),
        _col("quantity", "数量", "quantity", "qty", "count", "件数", type=INT, required=True, width=8.0,
             help="必填。正整数"),
        _col("weight_kg", "重量(kg)", "weight_kg", "weight kg", "weight", "重量", type=NUMBER, width=10.0,
             help="公斤，正数"),
        _col("volume_m3", "体积(m³)", "volume_m3", "volume m3", "volume", "体积", type=NUMBER, width=10.0,
             help="立方米，正数"),
        _col("receiver", "收货人", "receiver", "receiver name", "consignee", "recipient", "收件人",
             required=True, width=10.0, help="必填。收货人姓名"),
        _col("receiver_phone", "收货人电话", "receiver_phone", "receiver phone", "consignee phone",
             "phone", "mobile", "telephone", "tel", "收件人电话", "联系电话", "手机号",
             type=PHONE, required=True, width=15.0, help="必填。11位手机号或带区号的固话"),
        _col("address", "收货地址", "address", "shipping address", "delivery address",
             "receiver address", "consignee address", "收件地址", "详细收货地址",
             required=True, width=36.0, help="必填。写明省、市、区县、街道和门牌号"),
        _col("special_requirements", "特殊要求", "special_requirements", "special requirements",
             "remarks", "requirements", "备注要求",
             choices=SPECIAL_REQUIREMENT_TAGS, width=14.0,
             help="如易碎、加急、冷链；可多项，用逗号分隔；没有请写“无”"),
        _col("channel", "接收渠道", "channel", "source channel", "order source", "订单来源",
             choices=("电商后台", "ERP", "邮件", "电话", "其他"), width=10.0, help="订单从哪里来"),
        _col("received_at", "接收时间", "received_at", "received at", "order time", "下单时间",
             type=DATETIME, help="收到订单的时间"),
        _col("customer_contact", "客户联系人", "customer_contact", "customer contact", "contact person",
             width=12.0, help="核对信息时联系的客户方人员"),
        _col("preferred_carrier", "指定物流商", "preferred_carrier", "preferred carrier",
             "requested carrier", "指定快递", choices=CARRIER_NAMES, width=11.0,
             help="客户指定的物流商；不指定留空"),
        # staff record the customer's confirmation; the product records self-confirmed rows
        _col("confirmation", "确认结果", "confirmation", "confirmation result",
             owner=SHARED, choices=("已确认", "已更正", "已取消"), width=10.0,
             help="与客户核对后的结果；已更正的行会重新校验"),
        _col("confirmed_by", "确认人", "confirmed_by", "confirmed by", owner=SHARED, width=10.0,
             help="与客户确认的人"),
        _col("confirmed_at", "确认时间", "confirmed_at", "confirmed at", owner=SHARED, type=DATETIME,
             help="客户确认的时间"),
        _col("confirm_channel", "确认渠道", "confirm_channel", "confirm channel", "confirmation channel",
             owner=SHARED, choices=("电话", "微信", "邮件", "短信", "系统自动"), width=10.0,
             help="通过什么方式确认"),
        # the product's own results
        _col("check_status", "校验状态", "check_status", "check status", "validation status",
             owner=PRODUCT, choices=("通过", "有问题", "待复核"), width=10.0, help="系统校验结果，请勿手改"),
        _col("problems", "问题说明", "problems", "issues", "check problems", owner=PRODUCT, width=40.0,
             help="系统列出的问题"),
        _col("phone_normalized", "规范电话", "phone_normalized", "normalized phone", owner=PRODUCT,
             type=PHONE, width=15.0, help="系统整理后的电话"),
        _col("province", "省", "province", "省份", owner=PRODUCT, width=8.0, help="系统解析的省"),
        _col("city", "市", "city", "城市", owner=PRODUCT, width=8.0, help="系统解析的市"),
        _col("district", "区县", "district", "county", owner=PRODUCT, width=8.0, help="系统解析的区县"),
        _col("address_detail", "详细地址", "address_detail", "address detail", "street address",
             owner=PRODUCT, width=24.0, help="系统解析的街道门牌"),
        _col("tags", "要求标签", "tags", "requirement tags", owner=PRODUCT, width=12.0,
             help="系统识别的特殊要求标签"),
        _col("declared_value", "保价金额", "declared_value", "declared value", "insured value", "声明价值",
             owner=PRODUCT, type=MONEY, width=10.0, help="系统从特殊要求中读出的保价金额（元），用于选物流商和理赔"),
        _col("checked_at", "校验时间", "checked_at", "checked at", owner=PRODUCT, type=DATETIME,
             help="最近一次校验时间"),
        _col("confirm_deadline", "确认截止", "confirm_deadline", "confirm deadline",
             "confirmation deadline", owner=PRODUCT, type=DATETIME, help="须在此前与客户确认"),
        _col("order_status", "订单状态", "order_status", "order status", owner=PRODUCT,
             choices=("待确认", "已确认", "已分配运单", "运输中", "已签收", "已完成", "已取消"), width=11.0,
             help="系统维护的订单状态"),
        _waybill_no(PRODUCT, help="系统绑定的物流单号"),
    ),
)

FOLLOWUPS_SHEET = SheetSchema(
    name="满意度回访",
    table="FollowUps",
    problem_column="followup_status",
    problem_values=("已超时",),
    columns=(
        _order_no(PRODUCT, required=True, help="待回访的订单（系统生成）"),
        _col("signed_at", "签收时间", "signed_at", "signed at", "delivered at", owner=PRODUCT,
             type=DATETIME, help="客户签收时间"),
        _col("due_at", "回访截止", "due_at", "due at", "followup due", owner=PRODUCT, type=DATETIME,
             help="签收后24小时内回访"),
        _col("contacted_at", "回访时间", "contacted_at", "contacted at", type=DATETIME,
             owner=SHARED, help="实际回访时间"),
        _col("contacted_by", "回访人", "contacted_by", "contacted by", width=10.0, owner=SHARED, help="回访的订单接收员"),
        _col("goods_intact", "货物完好", "goods_intact", "goods intact", choices=YES_NO, width=9.0,
             owner=SHARED, help="选“否”会生成破损异常"),
        _col("speed_satisfied", "时效满意", "speed_satisfied", "speed satisfied", choices=YES_NO, width=9.0,
             owner=SHARED, help="选“否”会生成延误异常"),
        _col("score", "评分", "score", "rating", type=INT, choices=("1", "2", "3", "4", "5"), width=7.0,
             owner=SHARED, help="1到5分，5分最满意"),
        _col("comment", "备注", "comment", "feedback", "note", width=30.0, owner=SHARED, help="客户原话或补充说明"),
        _col("followup_status", "回访状态", "followup_status", "followup status", owner=PRODUCT,
             choices=("待回访", "已超时", "已完成"), width=10.0, help="系统维护"),
    ),
)

ORDERS = BookSchema(
    key="orders",
    filename="订单确认单.xlsx",
    title="《订单确认单》",
    sheets=(ORDERS_SHEET, FOLLOWUPS_SHEET),
)

# -------------------------------------------------------------- bindings ---

BINDINGS_SHEET = SheetSchema(
    name="绑定表",
    table="Bindings",
    columns=(
        _order_no(SHARED, required=True, help="已确认的订单编号"),
        _waybill_no(SHARED, required=True, help="系统生成，或人工录入物流商给的单号"),
        _carrier(SHARED, help="承运物流商，须在合格物流商名录中"),
        _col("carrier_code", "物流商代码", "carrier_code", "carrier code", owner=PRODUCT, width=10.0,
             help="系统填写"),
        _col("source", "单号来源", "source", "waybill source", owner=SHARED,
             choices=("自动生成", "物流商接口", "人工录入"), width=10.0, help="单号怎么来的"),
        _col("bound_at", "绑定时间", "bound_at", "bound at", "binding time", owner=SHARED, type=DATETIME,
             help="生成/绑定时间"),
        _col("bound_by", "绑定人", "bound_by", "bound by", owner=SHARED, width=10.0, help="绑定的物流专员"),
        _col("expected_delivery", "预计送达日期", "expected_delivery", "expected delivery", "eta",
             owner=PRODUCT, type=DATE, width=13.0, help="按承诺工作日和节假日计算"),
        _col("expected_estimated", "预计日期为估算", "expected_estimated", "expected estimated",
             owner=PRODUCT, choices=YES_NO, width=9.0, help="“是”表示节假日数据缺失，仅按周末估算"),
        _col("service", "服务类型", "service", "service type", owner=SHARED, width=10.0,
             help="标准、特快、冷链、大件、保价"),
        _col("est_freight", "预估运费(元)", "est_freight", "estimated freight", "freight", owner=PRODUCT,
             type=MONEY, width=12.0, help="按价格表估算"),
        _col("selection_reason", "选择理由", "selection_reason", "selection reason", "reason",
             owner=SHARED, width=30.0, help="为何选择该物流商；人工更改时请写明原因"),
        _col("carrier_check", "承运商核对", "carrier_check", "carrier check", owner=PRODUCT, width=36.0,
             help="系统填写：单号格式与快递100 智能判断给出的物流商建议及理由；请人工确认"),
        _col("carrier_corrected", "承运商更正", "carrier_corrected", "carrier corrected", owner=PRODUCT, width=22.0,
             help="系统填写：原物流商 → 新物流商（快递100 纠正或人工更正），之后的查询与订阅都用新物流商"),
        _col("corrected_at", "更正时间", "corrected_at", "corrected at", owner=PRODUCT, type=DATETIME,
             help="系统填写：何时更正"),
        _col("corrected_by", "更正人", "corrected_by", "corrected by", owner=PRODUCT, width=10.0,
             help="系统填写：快递100 或更正的人"),
        _col("review_status", "审核状态", "review_status", "review status", owner=SHARED,
             choices=("待审核", "已审核", "审核后变更"), width=10.0, help="物流主管每日审核"),
        _col("reviewed_by", "审核人", "reviewed_by", "reviewed by", owner=SHARED, width=10.0,
             help="审核的物流主管"),
        _col("reviewed_at", "审核时间", "reviewed_at", "reviewed at", owner=SHARED, type=DATETIME,
             help="审核时间"),
        _col("note", "备注", "note", "remarks", width=20.0, help="补充说明"),
    ),
)

CARRIERS_SHEET = SheetSchema(
    name="合格物流商名录",
    table="Carriers",
    columns=(
        _col("carrier_code", "物流商代码", "carrier_code", "carrier code", "code", required=True,
             width=10.0, help="必填。本系统内的代码，如 SF、JD"),
        _col("name", "物流商名称", "name", "carrier name", "carrier", "物流商", required=True, width=12.0,
             help="必填。中文名称，如 顺丰"),
        _col("kuaidi100_code", "快递100编码", "kuaidi100_code", "kuaidi100 code", "com", width=14.0,
             help="快递100公司编码，如 shunfeng"),
        _col("short_code", "单号前缀", "short_code", "short code", "prefix", width=9.0,
             help="自动生成单号用的前缀"),
        _col("qualified", "是否合格", "qualified", "active", choices=YES_NO, width=9.0,
             help="“否”则不再分配"),
        _col("services", "服务", "services", width=24.0, help="可多项，用逗号分隔：标准,特快,冷链,大件,保价"),
        _col("transit_days", "时效(工作日)", "transit_days", "transit days", type=INT, width=11.0,
             help="标准快递到全国的承诺工作日；「运价与时效」有该物流商的行时以那里为准"),
        _col("contact", "联系人", "contact", "contact person", width=10.0, help="对接人"),
        _col("phone", "联系电话", "phone", "telephone", type=PHONE, width=15.0, help="对接人电话"),
        _col("note", "备注", "note", "remarks", width=20.0, help="补充说明"),
    ),
)

RATES_SHEET = SheetSchema(
    name="运价与时效",
    table="CarrierRates",
    columns=(
        _col("carrier_code", "物流商代码", "carrier_code", "carrier code", "code", required=True, width=10.0,
             help="必填。合格物流商名录中的代码，如 SF"),
        _col("service", "服务", "service", required=True, choices=("标准", "特快", "冷链", "大件", "保价"),
             width=8.0, help="必填。标准/特快/冷链/大件；保价为附加费"),
        _col("dest_group", "目的地分组", "dest_group", "dest group", "destination group", required=True,
             choices=("同省", "邻省", "全国", "偏远"), width=10.0,
             help="必填。同省/邻省/全国/偏远（新疆 西藏 青海 内蒙古 甘肃 宁夏）"),
        _col("first_weight_price", "首重价格(元)", "first_weight_price", "first weight price", "first price",
             required=True, type=MONEY, width=12.0, help="必填。首重（通常1公斤）的全价；保价行为每票保价费"),
        _col("additional_price", "续重价格(元/公斤)", "additional_price", "additional price", "extra price",
             type=MONEY, width=15.0, help="超出首重后每公斤的价格；保价行可空"),
        _col("transit_days", "时效(工作日)", "transit_days", "transit days", type=INT, width=11.0,
             help="承诺的工作日数；保价行可空（按主服务）"),
        _col("note", "备注", "note", "remarks", width=20.0, help="补充说明"),
    ),
)

BINDING_HISTORY_SHEET = SheetSchema(
    name="绑定历史",
    table="BindingHistory",
    columns=(
        _order_no(PRODUCT, required=True, help="换绑的订单"),
        _col("old_waybill", "原物流单号", "old_waybill", "old waybill", owner=PRODUCT, width=20.0,
             number_format=TEXT_FORMAT, help="换绑前的单号"),
        _col("new_waybill", "新物流单号", "new_waybill", "new waybill", owner=PRODUCT, width=20.0,
             number_format=TEXT_FORMAT, help="换绑后的单号"),
        _col("changed_at", "变更时间", "changed_at", "changed at", owner=PRODUCT, type=DATETIME,
             help="何时换绑"),
        _col("changed_by", "变更人", "changed_by", "changed by", owner=PRODUCT, width=10.0, help="谁换绑"),
        _col("reason", "原因", "reason", owner=PRODUCT, width=30.0, help="为何换绑"),
    ),
)

BINDINGS = BookSchema(
    key="bindings",
    filename="物流单号绑定表.xlsx",
    title="《物流单号-订单绑定表》",
    sheets=(BINDINGS_SHEET, CARRIERS_SHEET, RATES_SHEET, BINDING_HISTORY_SHEET),
)

# -------------------------------------------------------------- tracking ---

_OUTLET_ALIASES = ("outlet", "operator", "网点", "操作网点")

TRACKING_OVERVIEW_SHEET = SheetSchema(
    name="跟踪总览",
    table="TrackingOverview",
    problem_column="anomaly",
    problem_values=("是",),
    columns=(
        _order_no(PRODUCT),
        _waybill_no(PRODUCT, required=True),
        _carrier(PRODUCT),
        _col("status", "当前状态", "status", "current status", owner=PRODUCT, width=12.0,
             help="系统同步的状态"),
        _col("last_node", "最新节点", "last_node", "last node", "latest event", owner=PRODUCT, width=36.0,
             help="最新一条物流信息"),
        _col("last_node_time", "最新节点时间", "last_node_time", "last node time", owner=PRODUCT,
             type=DATETIME, help="最新节点发生时间"),
        _col("outlet", "操作网点/人员", *_OUTLET_ALIASES, owner=PRODUCT, width=18.0,
             help="最新节点的网点或快递员"),
        _col("next_node_planned", "下一关键节点计划时间", "next_node_planned", "next node planned",
             owner=PRODUCT, type=DATETIME, width=19.0, help="下一关键节点应在此前发生"),
        _col("next_node_actual", "实际时间", "next_node_actual", "next node actual", owner=PRODUCT,
             type=DATETIME, help="下一关键节点实际发生时间"),
        _col("anomaly", "异常标记", "anomaly", "anomaly flag", owner=PRODUCT, choices=YES_NO, width=9.0,
             help="“是”表示触发异常规则"),
        _col("anomaly_reason", "异常原因", "anomaly_reason", "anomaly reason", owner=PRODUCT, width=28.0,
             help="触发了哪条规则"),
        _col("last_checked", "最近查询", "last_checked", "last checked", owner=PRODUCT, type=DATETIME,
             help="最近一次向物流商查询"),
        _col("next_check", "下次查询", "next_check", "next check", owner=PRODUCT, type=DATETIME,
             help="计划下次查询时间"),
    ),
)

TRACKING_NODES_SHEET = SheetSchema(
    name="节点明细",
    table="TrackingNodes",
    columns=(
        _waybill_no(PRODUCT, required=True),
        _order_no(PRODUCT),
        _col("node_name", "节点名称", "node_name", "node name", "node", owner=PRODUCT, width=12.0,
             help="如已揽收、运输中、已签收"),
        _col("planned_time", "计划时间", "planned_time", "planned time", owner=PRODUCT, type=DATETIME,
             help="该节点应发生的时间"),
        _col("actual_time", "实际时间", "actual_time", "actual time", "event time", owner=PRODUCT,
             type=DATETIME, help="该节点实际发生时间"),
        _col("outlet", "操作网点/人员", *_OUTLET_ALIASES, owner=PRODUCT, width=18.0, help="操作网点或人员"),
        _col("status_note", "状态说明", "status_note", "status note", "description", owner=PRODUCT,
             width=40.0, help="物流商原文或人工说明"),
        _col("evidence", "凭证", "evidence", "proof", owner=PRODUCT, width=24.0, help="截图或签收照片的链接/路径"),
        _col("source", "来源", "source", owner=PRODUCT, choices=("自动", "推送", "人工"), width=8.0,
             help="节点从哪里来"),
    ),
)

MANUAL_NODES_SHEET = SheetSchema(
    name="人工录入",
    table="ManualNodes",
    columns=(
        _waybill_no(USER, required=True, help="必填。要补录节点的物流单号"),
        _col("node_name", "节点名称", "node_name", "node name", "node", required=True,
             choices=NODE_NAMES, width=12.0, help="必填。选择节点"),
        _col("actual_time", "实际时间", "actual_time", "actual time", "event time", type=DATETIME,
             required=True, help="必填。节点发生的时间"),
        _col("outlet", "操作网点/人员", *_OUTLET_ALIASES, width=18.0, help="网点或快递员"),
        _col("status_note", "状态说明", "status_note", "status note", "description", width=36.0,
             help="如：暴雨延误，预计晚24小时"),
        _col("evidence", "凭证", "evidence", "proof", width=24.0, help="截图或照片的链接/文件路径"),
        _col("entered_by", "录入人", "entered_by", "entered by", width=10.0, help="录入的跟踪专员"),
        _col("ingested", "已导入", "ingested", owner=PRODUCT, width=17.0, type=DATETIME,
             help="系统导入的时间，请勿手改"),
    ),
)

TRACKING = BookSchema(
    key="tracking",
    filename="实时物流跟踪记录表.xlsx",
    title="《实时物流跟踪记录表》",
    sheets=(TRACKING_OVERVIEW_SHEET, TRACKING_NODES_SHEET, MANUAL_NODES_SHEET),
)

# ------------------------------------------------------------ exceptions ---

EXCEPTION_CASES_SHEET = SheetSchema(
    name="异常台账",
    table="ExceptionCases",
    problem_column="sla_status",
    problem_values=("超时", "临近"),
    columns=(
        _col("case_id", "案件编号", "case_id", "case id", "case no", owner=PRODUCT, required=True,
             width=16.0, number_format=TEXT_FORMAT, help="系统编号，请勿修改"),
        _order_no(SHARED, required=True, help="异常订单的订单编号"),
        _waybill_no(SHARED, required=True, help="异常订单的物流单号"),
        _col("type", "异常类型", "type", "exception type", owner=SHARED, required=True,
             choices=("延误", "丢件", "破损", "信息错误", "其他"), width=10.0, help="必填。选择异常类型"),
        _col("severity", "严重程度", "severity", owner=SHARED, choices=("高", "中", "低"), width=9.0,
             help="高、中、低"),
        _col("found_at", "发现时间", "found_at", "found at", owner=SHARED, type=DATETIME,
             help="发现异常的时间"),
        _col("found_by", "发现人", "found_by", "found by", owner=SHARED, width=10.0, help="发现人或“系统”"),
        _col("description", "异常描述", "description", owner=SHARED, width=36.0, help="发生了什么"),
        _col("evidence", "凭证", "evidence", "proof", owner=SHARED, width=24.0,
             help="照片、截图的链接或文件路径"),
        _col("submitted_at", "提交处理时间", "submitted_at", "submitted at", owner=SHARED, type=DATETIME,
             help="发现后30分钟内提交异常处理专员"),
        _col("handler", "处理人", "handler", owner=SHARED, width=10.0, help="异常处理专员"),
        _col("carrier_contact", "物流商联系人", "carrier_contact", "carrier contact", owner=SHARED,
             width=12.0, help="物流商对接人及电话"),
        _col("cause", "原因", "cause", owner=SHARED, width=24.0, help="如天气、交通、漏揽"),
        _col("new_expected", "新预计时间", "new_expected", "new expected", owner=SHARED, type=DATETIME,
             help="延误时物流商给出的新预计送达时间"),
        _col("claim_started_at", "理赔发起时间", "claim_started_at", "claim started at", owner=SHARED,
             type=DATETIME, help="丢件/破损须在24小时内发起理赔"),
        _col("claim_amount", "理赔金额", "claim_amount", "claim amount", owner=SHARED, type=MONEY,
             width=12.0, help="元"),
        _col("claim_status", "理赔状态", "claim_status", "claim status", owner=SHARED,
             choices=("未发起", "已发起", "处理中", "已赔付", "已拒绝"), width=10.0, help="理赔进展"),
        _col("materials_sent_at", "理赔材料发送时间", "materials_sent_at", "materials sent at", owner=SHARED,
             type=DATETIME, help="向客户提供理赔材料的时间"),
        _col("reship_refund", "补发/退款", "reship_refund", "reship refund", "reship or refund",
             owner=SHARED, choices=("补发", "退款", "无"), width=9.0, help="对客户的补救"),
        _col("responsible_party", "责任方", "responsible_party", "responsible party", owner=SHARED,
             choices=("物流商", "发货方", "客户", "海关", "天气或不可抗力", "其他"), width=13.0,
             help="选择责任方，原因写在责任说明"),
        _col("responsibility_reason", "责任说明", "responsibility_reason", "responsibility reason",
             owner=SHARED, width=24.0, help="为何判定该责任方"),
        _col("result", "处理结果", "result", owner=SHARED, width=28.0, help="最终处理结果"),
        _col("customer_informed_at", "客户告知时间", "customer_informed_at", "customer informed at",
             owner=SHARED, type=DATETIME, help="告知客户的时间"),
        _col("customer_feedback", "客户反馈", "customer_feedback", "customer feedback", owner=SHARED,
             width=24.0, help="客户的反馈"),
        _col("receiver_informed_at", "订单接收员告知时间", "receiver_informed_at", "receiver informed at",
             owner=SHARED, type=DATETIME, width=18.0, help="告知订单接收员的时间"),
        _col("carrier_replied_at", "物流商回复时间", "carrier_replied_at", "carrier replied at", owner=SHARED,
             type=DATETIME, width=17.0, help="物流商给出原因或受理的时间"),
        _col("error_source", "错误来源", "error_source", "error source", owner=SHARED,
             choices=("物流商录入错误", "客户地址错误", "绑定错误"), width=14.0,
             help="信息错误：物流商录入错误 / 客户地址错误 / 绑定错误"),
        _col("binding_checked_at", "绑定核对时间", "binding_checked_at", owner=SHARED, type=DATETIME, width=17.0,
             help="核对订单与运单绑定的时间"),
        _col("correction_requested_at", "更正重派申请时间", "correction_requested_at", owner=SHARED, type=DATETIME,
             width=17.0, help="要求物流商更正并重新派送的时间"),
        _col("address_confirmed_at", "地址确认时间", "address_confirmed_at", owner=SHARED, type=DATETIME,
             width=17.0, help="与客户确认正确地址的时间"),
        _col("corrected_address", "更正后地址", "corrected_address", owner=SHARED, width=30.0,
             help="客户确认后的地址，会写回订单"),
        _col("closed_at", "结案时间", "closed_at", "closed at", owner=SHARED, type=DATETIME, help="结案时间"),
        _col("case_status", "案件状态", "case_status", "case status", owner=SHARED,
             choices=("待提交", "处理中", "已结案"), width=10.0, help="案件进展"),
        _col("sla_status", "SLA状态", "sla_status", "sla status", owner=PRODUCT,
             choices=("正常", "临近", "超时"), width=9.0, help="系统计算，请勿手改"),
        _col("sla_detail", "SLA说明", "sla_detail", "sla detail", owner=PRODUCT, width=36.0,
             help="哪个时限临近或超时"),
    ),
)

CASE_HISTORY_SHEET = SheetSchema(
    name="处理历史",
    table="CaseHistory",
    columns=(
        _col("case_id", "案件编号", "case_id", "case id", "case no", owner=PRODUCT, required=True,
             width=16.0, number_format=TEXT_FORMAT, help="案件编号"),
        _col("changed_at", "变更时间", "changed_at", "changed at", owner=PRODUCT, type=DATETIME,
             help="何时变更"),
        _col("changed_by", "变更人", "changed_by", "changed by", owner=PRODUCT, width=10.0, help="谁变更"),
        _col("field", "字段", "field", owner=PRODUCT, width=14.0, help="变更的字段"),
        _col("old_value", "原值", "old_value", "old value", owner=PRODUCT, width=24.0, help="变更前"),
        _col("new_value", "新值", "new_value", "new value", owner=PRODUCT, width=24.0, help="变更后"),
        _col("note", "备注", "note", "remarks", owner=PRODUCT, width=24.0, help="补充说明"),
    ),
)

EXCEPTIONS = BookSchema(
    key="exceptions",
    filename="异常订单处理台账.xlsx",
    title="《异常订单处理台账》",
    sheets=(EXCEPTION_CASES_SHEET, CASE_HISTORY_SHEET),
)

ALL_BOOKS: tuple[BookSchema, ...] = (ORDERS, BINDINGS, TRACKING, EXCEPTIONS)

# Dropdowns that only suggest: free text is allowed (no error box).
OPEN_CHOICES: frozenset[tuple[str, str]] = frozenset({
    ("Orders", "special_requirements"),   # several tags, or words of the customer's own
    ("Orders", "preferred_carrier"),      # a desk may use carriers beyond the default list
})


def is_open_choice(sheet: SheetSchema, column: Column) -> bool:
    """True when the column's dropdown is a suggestion, not a rule."""
    return (sheet.table, column.key) in OPEN_CHOICES


def book(key: str) -> BookSchema:
    """The book declared under ``key`` ("orders", "bindings", "tracking", "exceptions")."""
    for b in ALL_BOOKS:
        if b.key == key:
            return b
    known = ", ".join(b.key for b in ALL_BOOKS)
    raise KeyError(f"没有名为 {key!r} 的工作簿定义（可用：{known}）")
