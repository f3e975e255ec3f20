"""Quantities: plausibility ceilings (defaults and the desk's config) and dimensions read as a volume."""

import pytest

from xl_addin.domain.intake import IntakeRules, check_order, parse_volume
from xl_addin.domain.intake.quantities import DEFAULT_LIMITS, Limits

from support.intake_rows import codes, row

RULES = IntakeRules.default()


@pytest.mark.parametrize("text, m3", [
    ("30*20*10cm", 0.006), ("30x20x10", 0.006), ("30×20×10 CM", 0.006), ("３０＊２０＊１０ｃｍ", 0.006),
    ("0.3*0.2*0.1m", 0.006), ("300*200*100mm", 0.006), ("30cm*20cm*10cm", 0.006), ("120*80*100厘米", 0.96),
    ("1.2米*1米*0.5米", 0.6),
])
def test_dimensions_are_read_as_a_volume(text, m3):
    volume, problem = parse_volume(text)
    assert problem is None and volume == pytest.approx(m3)
    result = check_order(row(volume_m3=text), RULES)
    assert codes(result) == [] and result.normalized["volume_m3"] == pytest.approx(m3)


@pytest.mark.parametrize("text", ["30*20cm", "30*20*10*5", "30*20*厚", "0*20*10cm", "长30宽20"])
def test_broken_dimensions_are_still_invalid(text):
    assert codes(check_order(row(volume_m3=text), RULES)) == [("VOLUME_INVALID", "volume_m3")]


@pytest.mark.parametrize("key, value, code", [
    ("quantity", 10 ** 9, "QUANTITY_IMPLAUSIBLE"), ("quantity", "20000件", "QUANTITY_IMPLAUSIBLE"),
    ("weight_kg", 50_000, "WEIGHT_IMPLAUSIBLE"), ("weight_kg", "50000000g", "WEIGHT_IMPLAUSIBLE"),
    ("volume_m3", 500, "VOLUME_IMPLAUSIBLE"), ("volume_m3", "1000*1000*1000cm", "VOLUME_IMPLAUSIBLE"),
])
def test_above_the_ceiling_is_held_with_the_ceiling_named(key, value, code):
    result = check_order(row(**{key: value}), RULES)
    [problem] = result.problems
    assert (problem.code, problem.column, problem.severity) == (code, key, "error")
    assert "合理上限" in problem.message and "[intake]" in problem.message


@pytest.mark.parametrize("key, value", [
    ("quantity", DEFAULT_LIMITS.max_pieces), ("quantity", 500), ("weight_kg", 29_999.5), ("weight_kg", "1800g"),
    ("volume_m3", 150), ("volume_m3", "120*100*100cm"),
])
def test_large_but_plausible_values_pass(key, value):
    assert codes(check_order(row(**{key: value}), RULES)) == []


def test_the_desk_can_raise_the_ceilings():
    bulk = RULES.with_limits(Limits(max_pieces=2_000_000, max_weight_kg=100_000, max_volume_m3=1000))
    assert codes(check_order(row(quantity=1_000_000, weight_kg=50_000, volume_m3=500), bulk)) == []
    assert codes(check_order(row(quantity=1_000_000), RULES)) == [("QUANTITY_IMPLAUSIBLE", "quantity")]
    assert bulk.prohibited is RULES.prohibited  # the lists are shared, not copied


def test_config_section_reaches_the_rules(tmp_path):
    from datetime import datetime, timedelta, timezone

    from xl_addin.bootstrap import load_desk
    from xl_addin.services.desk.setup import init_desk
    from xl_addin.services.intake.desk_rules import rules_for_desk

    init_desk(tmp_path, datetime(2026, 12, 1, tzinfo=timezone(timedelta(hours=8))))
    config = tmp_path / "xl-logistics.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("max_pieces = 10000", "max_pieces = 50"),
                      encoding="utf-8")
    rules = rules_for_desk(load_desk(tmp_path))
    assert rules.limits.max_pieces == 50
    assert codes(check_order(row(quantity=51), rules)) == [("QUANTITY_IMPLAUSIBLE", "quantity")]
