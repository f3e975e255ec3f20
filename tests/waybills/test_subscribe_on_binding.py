"""Issue 6: a waybill is subscribed for push as soon as it is bound, when the desk has a callback URL."""

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from xl_addin.adapters.store import open_store
from xl_addin.sandbox import serve_sandbox

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ORDER = {"order_no": "DD9001", "customer": "杭州云舟电子商务有限公司", "goods_name": "纯棉T恤", "quantity": 2,
         "receiver": "李娜", "receiver_phone": "13912345678",
         "address": "浙江省杭州市西湖区文三路478号华星时代广场A座1203室"}


def cli(*args, env=None):
    full = dict(os.environ, XL_LOGISTICS_HOME=str(Path(args[-1]).parent), **(env or {}))
    return subprocess.run([sys.executable, "-m", "xl_addin", *args], capture_output=True, text=True, env=full)


def make_desk(tmp_path) -> Path:
    from xl_addin.adapters.workbook.books import ORDERS
    from xl_addin.adapters.workbook.xml_patch import write_cells

    desk = tmp_path / "desk"
    assert cli("init", str(desk)).returncode == 0
    schema = ORDERS.sheets[0]
    cols = {c.key: i + 1 for i, c in enumerate(schema.columns)}
    write_cells(desk / "订单确认单.xlsx", schema.name, 1, {}, {(2, cols[k]): v for k, v in ORDER.items()},
                backup_dir=None, append_table_rows=True)
    assert cli("validate", "--now", NOW.isoformat(), "--desk", str(desk)).returncode == 0
    return desk


def test_allocate_subscribes_the_new_waybill(tmp_path):
    desk = make_desk(tmp_path)
    with serve_sandbox() as sandbox:
        env = {"KUAIDI100_BASE_URL": sandbox.base_url, "KUAIDI100_CUSTOMER": sandbox.customer,
               "KUAIDI100_KEY": sandbox.key, "KUAIDI100_SALT": "s3cret",
               "XL_LOGISTICS_CALLBACK_URL": "http://127.0.0.1:9/kuaidi100/callback"}
        result = cli("allocate", "--json", "--now", NOW.isoformat(), "--desk", str(desk), env=env)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        waybill = out["bindings"][0]["waybill_no"]
        assert out["subscription"]["ok"] is True and out["subscription"]["accepted"] == 1
        assert sandbox.app.stats.get("subscribed_companies"), "the sandbox received no subscription"
    with open_store(desk / ".xl-logistics" / "state.sqlite3") as store:
        states = dict(store.conn.execute("SELECT waybill_no, state FROM push_subscriptions").fetchall())
    assert states == {waybill: "accepted"}


def test_without_a_callback_url_allocate_does_not_subscribe(tmp_path):
    desk = make_desk(tmp_path)
    result = cli("allocate", "--json", "--now", NOW.isoformat(), "--desk", str(desk),
                 env={"XL_LOGISTICS_CALLBACK_URL": ""})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["subscription"] is None
