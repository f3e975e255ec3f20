"""Subscribing waybills with the sandbox over real HTTP: stored states (accepted, duplicate, refused
with code and hint), 600/601 stop the run as a ConfigError, each waybill subscribed once, the
refresh job leaving push-kept waybills alone, and the provider's company code used for a carrier."""

from datetime import timedelta

import pytest

from support.push_desk import NOW, make_desk
from xl_addin.adapters.store.subscriptions import SubscriptionStore
from xl_addin.adapters.providers.kuaidi100 import Kuaidi100Client, build_subscribe
from xl_addin.bootstrap import store_for
from xl_addin.errors import ConfigError
from xl_addin.sandbox import serve_sandbox
from xl_addin.services.push.service import subscribe_waybills
from xl_addin.services.tracking import refresh

CB = "http://127.0.0.1:9/kuaidi100/callback?desk=t"


@pytest.fixture
def sandbox(monkeypatch):
    sb = serve_sandbox(start=NOW, speed=0.0, seed=3, expired_customers=())
    monkeypatch.setenv("KUAIDI100_BASE_URL", sb.base_url)
    monkeypatch.delenv("KUAIDI100_CUSTOMER", raising=False)
    monkeypatch.delenv("KUAIDI100_KEY", raising=False)
    monkeypatch.setenv("KUAIDI100_SALT", "s1")
    yield sb
    sb.stop()


def client(sb, key=None):
    return Kuaidi100Client(sb.base_url, sb.customer, key or sb.key, timeout=(2, 5))


def test_states_are_stored_once_each_and_shown(tmp_path, sandbox):
    desk = make_desk(tmp_path / "desk", 6, carriers=("ZTO", "YTO", "NOPE"))
    # another install already subscribed WB00000001: the provider says 501, which is success for us
    sandbox.app._subscribe_body(build_subscribe("yuantong", "WB00000001", sandbox.key, CB))
    res = subscribe_waybills(desk, NOW, client=client(sandbox), url=CB)
    assert res.submitted == 6 and res.accepted == 3 and res.duplicate == 1
    assert [r["waybill_no"] for r in res.refused] == ["WB00000002", "WB00000005"]  # carrier "nope" unsupported
    assert all(r["code"] == "700" and r["hint"] for r in res.refused)
    assert res.states == {"accepted": 3, "duplicate": 1, "refused": 2}
    with store_for(desk) as st:
        row = SubscriptionStore(st).get("WB00000000")
        assert row.company == "zhongtong" and row.callback_url == CB and row.accepted_at
        assert SubscriptionStore(st).get("WB00000001").state_zh.startswith("已订阅")
    assert sandbox.app.subscriptions["WB00000000"].salt == "s1"
    again = subscribe_waybills(desk, NOW + timedelta(hours=1), client=client(sandbox), url=CB)
    assert again.submitted == 0 and sandbox.app.stats["subscriptions"] == 4


@pytest.mark.parametrize("code", ["600", "601"])
def test_key_problems_stop_the_run_as_config_error(tmp_path, monkeypatch, code):
    sb = serve_sandbox(start=NOW, speed=0.0, seed=3, expired_customers=("SANDBOX-CUSTOMER",) if code == "601" else ())
    try:
        desk = make_desk(tmp_path / "desk", 4)
        with pytest.raises(ConfigError) as err:
            subscribe_waybills(desk, NOW, client=client(sb, None if code == "601" else "wrong-key"), url=CB)
        assert code in str(err.value) and "已提交 1 单" in str(err.value)
        assert sb.app.stats["requests"] == 1  # stopped at the first refusal
        with store_for(desk) as st:
            assert SubscriptionStore(st).counts() == {"retry": 1}
    finally:
        sb.stop()


def test_missing_callback_url_is_a_config_error(tmp_path, sandbox, monkeypatch):
    monkeypatch.delenv("XL_LOGISTICS_CALLBACK_URL", raising=False)
    desk = make_desk(tmp_path / "desk", 1)
    with pytest.raises(ConfigError, match="回调地址"):
        subscribe_waybills(desk, NOW, client=client(sandbox))


def test_refresh_skips_waybills_push_keeps_current(tmp_path, sandbox):
    desk = make_desk(tmp_path / "desk", 4)
    subscribe_waybills(desk, NOW, client=client(sandbox), url=CB)
    with store_for(desk) as st, st.transaction():  # WB00000003's subscription failed: polled as before
        SubscriptionStore(st).answered("WB00000003", "refused", "701", "", "", NOW)
    r = refresh(desk, NOW + timedelta(minutes=5), write_workbook=False)
    assert r.kept_by_push == 3 and r.queried == 1
    assert set(sandbox.app.stats["queried_numbers"]) == {"WB00000003"}
    # staff's "refresh now" asks about everything; a day without pushes falls back to polling
    r = refresh(desk, NOW + timedelta(hours=3), write_workbook=False, include_pushed=True)
    assert r.queried == 4 and r.kept_by_push == 0
    r = refresh(desk, NOW + timedelta(hours=30), write_workbook=False)
    assert r.kept_by_push == 0 and r.queried == 4


def test_refresh_queries_the_providers_company_code(tmp_path, sandbox):
    """Regression: our carrier code DEPPON is asked as com=debangkuaidi (ZTO as zhongtong)."""
    desk = make_desk(tmp_path / "desk", 2, carriers=("DEPPON", "ZTO"))
    refresh(desk, NOW, write_workbook=False)
    assert sandbox.app.stats["queried_companies"] == {"debangkuaidi": 1, "zhongtong": 1}
    subscribe_waybills(desk, NOW, client=client(sandbox), url=CB)
    assert sandbox.app.stats["subscribed_companies"] == {"debangkuaidi": 1, "zhongtong": 1}
