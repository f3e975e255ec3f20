"""Text output of ``bind``: the expected delivery date with its estimate flag, and the number as stored."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.entrypoints.cli import main
from xl_addin.services.desk.setup import init_desk

CN = timezone(timedelta(hours=8))


def _desk(root, now):
    init_desk(root, now)
    d = load_desk(root)
    with store_for(d) as store, store.transaction():
        OrderRecords(store).save([OrderRecord("B1", "confirmed", "ok", fields={
            "order_no": "B1", "weight_kg": 1, "normalized": {"province": "江苏省", "tags": []}})], now)
    return d


def _bind_text(tmp_path, capsys, now) -> tuple[str, dict]:
    d = _desk(tmp_path / "text", now)
    capsys.readouterr()
    assert main(["bind", "B1", "SF1234567890123", "--carrier", "SF", "--by", "王芳", "--desk", str(d.root),
                 "--now", now.isoformat()]) == 0
    text = capsys.readouterr().out
    d2 = _desk(tmp_path / "json", now)
    capsys.readouterr()
    assert main(["bind", "B1", "SF1234567890123", "--carrier", "SF", "--by", "王芳", "--desk", str(d2.root),
                 "--now", now.isoformat(), "--json"]) == 0
    return text, json.loads(capsys.readouterr().out)["binding"]


def test_bind_text_shows_an_official_date_without_the_flag(tmp_path, capsys):
    text, binding = _bind_text(tmp_path, capsys, datetime(2026, 11, 26, 9, 0, tzinfo=CN))
    m = re.search(r"预计送达 (\d{4}-\d{2}-\d{2})", text)
    assert m, text
    assert m.group(1) == str(binding["expected_delivery"])[:10]
    assert "估算" not in text


def test_bind_text_flags_a_computed_2027_date_past_spring_festival(tmp_path, capsys):
    # shipped Thursday 4 Feb 2027, the day before 除夕: the break (5–10 Feb, computed) is skipped
    text, binding = _bind_text(tmp_path, capsys, datetime(2027, 2, 4, 9, 0, tzinfo=CN))
    m = re.search(r"预计送达 (\d{4}-\d{2}-\d{2}) \(估算", text)
    assert m, text
    assert m.group(1) >= "2027-02-11" and m.group(1) == str(binding["expected_delivery"])[:10]


def test_bind_stores_the_base_of_a_jd_package_number(tmp_path, capsys):
    from xl_addin.adapters.store.waybills import WaybillStore

    now = datetime(2026, 11, 26, 9, 0, tzinfo=CN)
    d = _desk(tmp_path, now)
    capsys.readouterr()
    assert main(["bind", "B1", "JDVA12345678901-1-3-", "--carrier", "JD", "--by", "王芳", "--desk", str(d.root),
                 "--now", now.isoformat()]) == 0
    assert "JDVA12345678901 " in capsys.readouterr().out
    with store_for(d) as store:
        assert [b.waybill_no for b in WaybillStore(store).all_current()] == ["JDVA12345678901"]
