"""The desk's own additions to the intake keyword lists, read from the file named in the config.

The national catalogue ships with the product; a desk adds what its trade needs (a
new banned item, a legitimate compound that keeps being flagged, a tag of its own)
in a small CSV/TSV that a data administrator edits in Excel or Notepad:

    term,category,kind
    电子烟油,5 易燃液体,prohibited
    筋膜枪套装,,allowed
    蓝牙音箱,含锂电池,restricted
    防潮,moisture|防水,tag

``kind`` is prohibited, allowed, restricted or tag (for a tag, ``category`` lists its
synonyms separated by ``|``). The file may be UTF-8 (with or without BOM) or GBK.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from xl_addin.errors import ConfigError

KINDS = ("prohibited", "allowed", "restricted", "tag")
KIND_WORDS = {"禁寄": "prohibited", "违禁": "prohibited", "允许": "allowed", "白名单": "allowed",
              "限运": "restricted", "限寄": "restricted", "标签": "tag"}


def _decode(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ConfigError("关键词文件既不是 UTF-8 也不是 GBK 编码", "请用 Excel 另存为 “CSV UTF-8”", path=str(path))


def read_goods_file(path: Path):
    """(prohibited, allowed, restricted, tags) from the desk's keyword file; a bad row is a ConfigError naming it."""
    text = _decode(path)
    first = text.splitlines()[0] if text.strip() else ""
    dialect = "excel-tab" if "\t" in first else "excel"
    prohibited, allowed, restricted, tags = [], [], [], {}
    for n, row in enumerate(csv.reader(io.StringIO(text), dialect=dialect), 1):
        cells = [c.strip() for c in row] + ["", "", ""]
        term, category, kind = cells[0], cells[1], cells[2].lower()
        if not term or (n == 1 and term.lower() in ("term", "关键词", "词")):
            continue
        kind = KIND_WORDS.get(kind, kind) or "prohibited"
        if kind not in KINDS:
            raise ConfigError(f"第 {n} 行第 3 列的类型 {cells[2]!r} 无法识别",
                              "应为 prohibited / allowed / restricted / tag（或 禁寄 / 允许 / 限运 / 标签）", path=str(path))
        if len(term) < 2:
            raise ConfigError(f"第 {n} 行的关键词 {term!r} 太短", "单个字会误伤大量正常商品，请至少写两个字", path=str(path))
        if kind == "prohibited":
            prohibited.append((term, category or "19 其他禁寄物品"))
        elif kind == "allowed":
            allowed.append(term)
        elif kind == "restricted":
            restricted.append((term, category or "物流商限运"))
        else:
            tags[term] = [s.strip() for s in category.split("|") if s.strip()]
    return prohibited, allowed, restricted, tags


def rules_for_desk(desk):
    """The intake rules for a desk: the shipped lists plus the desk's own file when the config names one."""
    from xl_addin.domain.intake import IntakeRules

    rules = IntakeRules.default()
    if desk:
        from xl_addin.domain.intake.quantities import DEFAULT_LIMITS, Limits

        section = desk.settings.intake
        limits = Limits(section.max_pieces, float(section.max_weight_kg), float(section.max_volume_m3))
        if limits != DEFAULT_LIMITS:
            rules = rules.with_limits(limits)
    name = (desk.settings.intake.extra_goods_file or "").strip() if desk else ""
    if not name:
        return rules
    path = Path(name) if Path(name).is_absolute() else desk.root / name
    if not path.exists():
        raise ConfigError(f"配置 [intake] extra_goods_file 指向的文件不存在: {path}", "请检查文件名，或清空该配置项")
    prohibited, allowed, restricted, tags = read_goods_file(path)
    try:
        return rules.extended(prohibited=prohibited, allowed=allowed, restricted=restricted, tags=tags)
    except ValueError as exc:
        raise ConfigError(f"关键词文件有误: {exc}", path=str(path)) from None


def policy_for_desk(desk):
    """The desk's gate choices ([intake] tag_only, special_tag, override_roles); the defaults without a desk."""
    from xl_addin.domain.gates import GatePolicy

    if desk is None:
        return GatePolicy()
    intake = desk.settings.intake
    return GatePolicy(tag_only=frozenset(str(c).strip().upper() for c in intake.tag_only),
                      special_tag=str(intake.special_tag).strip(),
                      override_roles=tuple(str(r).strip() for r in intake.override_roles if str(r).strip()))
