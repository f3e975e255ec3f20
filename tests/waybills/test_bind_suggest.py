"""``bind`` without ``--carrier``: suggestions from the number's format and the provider's autonumber, never a silent bind."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from xl_addin.adapters.store.orders import OrderRecord, OrderRecords
from xl_addin.adapters.store.waybills import WaybillStore
from xl_addin.bootstrap import load_desk, store_for
from xl_addin.config import DEFAULT_CONFIG_TEXT
from xl_addin.entrypoints.cli import main
from xl_addin.sandbox import serve_sandbox
from xl_addin.services.desk.setup import init_desk
from xl_addin.bootstrap import provider_autonumber
from xl_addin.services.waybills import CarrierNeeded, bind_manual

CN = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=CN)


def _desk(root, base_url: str | None = None):
    cfg = DEFAULT_CONFIG_TEXT
    if base_url:
        cfg = cfg.replace('provider = ""  ', 'provider = "sandbox"', 1).replace('base_url = ""  ', f'base_url = "{base_url}"', 1)
    init_desk(root, T0, config_text=cfg)
    d = load_desk(root)
    with store_for(d) as store, store.transaction():
        OrderRecords(store).save([OrderRecord("B1", "confirmed", "ok", fields={
            "order_no": "B1", "weight_kg": 1, "normalized": {"province": "江苏省", "tags": []}})], T0)
    return d


@pytest.fixture()
def sandbox(monkeypatch):
    for name in ("KUAIDI100_CUSTOMER", "KUAIDI100_KEY", "KUAIDI100_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    running = serve_sandbox()
    yield running
    running.stop()


def _bound(desk) -> list:
    with store_for(desk) as store:
        return WaybillStore(store).all_current()


def test_format_alone_one_suggestion_is_not_bound_and_gives_the_command(tmp_path, capsys, monkeypatch):
    for name in ("KUAIDI100_CUSTOMER", "KUAIDI100_KEY", "KUAIDI100_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    d = _desk(tmp_path)
    assert provider_autonumber(d.settings) is None  # no provider configured: format only
    capsys.readouterr()
    code = main(["bind", "B1", "sf 1234567890123", "--by", "王芳", "--desk", str(d.root), "--now", T0.isoformat()])
    out = capsys.readouterr().out
    assert code == 2
    assert "未绑定" in out and "顺丰" in out
    assert f"xl-logistics bind B1 SF1234567890123 --carrier SF --by 王芳 --desk {d.root}" in out
    assert _bound(d) == []
    # the suggested command, run as given, binds
    assert main(["bind", "B1", "SF1234567890123", "--carrier", "SF", "--by", "王芳", "--desk", str(d.root),
                 "--now", T0.isoformat()]) == 0
    assert [b.waybill_no for b in _bound(d)] == ["SF1234567890123"]


def test_provider_agrees_still_a_suggestion_json(tmp_path, sandbox, capsys):
    d = _desk(tmp_path, sandbox.base_url)
    capsys.readouterr()
    code = main(["bind", "B1", "SF1234567890123", "--by", "王芳", "--source", "carrier_api", "--desk", str(d.root),
                 "--json", "--now", T0.isoformat()])
    payload = json.loads(capsys.readouterr().out)
    assert code == 2 and payload["bound"] is False
    assert payload["by_format"] == ["SF"] and payload["by_provider"] == ["SF"]
    assert payload["unambiguous"] == "SF" and payload["conflict"] is False
    assert payload["commands"] == [f"xl-logistics bind B1 SF1234567890123 --carrier SF --by 王芳 --source carrier_api "
                                   f"--desk {d.root}"]
    assert _bound(d) == []
    assert sandbox.app.stats  # the provider was really asked over HTTP


def test_conflict_and_ambiguity_list_every_candidate(tmp_path, sandbox):
    d = _desk(tmp_path, sandbox.base_url)
    ask = provider_autonumber(d.settings)
    assert ask is not None
    with store_for(d) as store:
        # 12 digits: the format says SF's old numbers; the provider guesses the 通达 carriers
        with pytest.raises(CarrierNeeded) as info:
            bind_manual(store, "B1", "123456789012", None, "王芳", T0, autonumber=ask)
        s = info.value.suggestions
        assert s.by_format == ["SF"] and set(s.by_provider) >= {"ZTO", "STO"} and s.conflict
        assert s.unambiguous is None and s.candidates[0] == "SF" and len(info.value.commands) == len(s.candidates)
        assert "不一致" in info.value.message
        # 14 digits starting 78: ZTO by format, and the provider says ZTO too; 13 digits: EMS by format
        with pytest.raises(CarrierNeeded) as info:
            bind_manual(store, "B1", "78123456789012", "", "王芳", T0, autonumber=ask)
        assert info.value.suggestions.unambiguous == "ZTO"
        # no provider and a number nobody's format fits
        with pytest.raises(CarrierNeeded) as info:
            bind_manual(store, "B1", "ABC123XYZ", None, "王芳", T0)
        assert info.value.suggestions.candidates == [] and "--carrier 物流商代码" in info.value.hint
        assert WaybillStore(store).all_current() == []


def test_provider_unreachable_is_a_note_not_a_failure(tmp_path, sandbox):
    d = _desk(tmp_path, sandbox.base_url)
    ask = provider_autonumber(d.settings)
    sandbox.stop()
    with store_for(d) as store:
        with pytest.raises(CarrierNeeded) as info:
            bind_manual(store, "B1", "SF1234567890123", None, "王芳", T0, autonumber=ask)
    s = info.value.suggestions
    assert s.by_provider is None and s.provider_note and s.unambiguous == "SF"
