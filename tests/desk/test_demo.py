"""The demo on embedded defaults runs all five stages and shows each one's results (slow: ~2 minutes)."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

EVERY_CODE = {"MISSING_FIELD", "PHONE_INVALID", "ADDRESS_INCOMPLETE", "ADDRESS_REVIEW", "PROHIBITED_GOODS",
              "RESTRICTED_GOODS", "QUANTITY_INVALID", "WEIGHT_INVALID", "DUPLICATE_ORDER",
              "SPECIAL_REQUIREMENT_UNCLEAR"}


def test_demo_runs_every_stage(tmp_path):
    desk = tmp_path / "demo"
    env = dict(os.environ, XL_LOGISTICS_HOME=str(tmp_path))
    env.pop("KUAIDI100_CUSTOMER", None)
    env.pop("KUAIDI100_KEY", None)
    result = subprocess.run([sys.executable, "-m", "xl_addin", "demo", "--dir", str(desk), "--json"],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    stages = json.loads(result.stdout)["stages"]
    assert set(stages["intake"]["codes"]) == EVERY_CODE  # bad rows of every kind are caught
    assert stages["intake"]["summary"]["rows"] >= 200
    assert stages["waybills"]["counts"]["allocated"] >= 200
    assert stages["tracking"]["sandbox_stats"]["violations"] == 0
    assert len(stages["tracking"]["open_anomalies"]) >= 4  # every anomaly rule shows up
    assert stages["push"]["pushes"]["ok"] > 0
    # signed orders are completed when the signing comes in; the closing stage's run only catches up
    assert stages["closing"]["completed_total"] > 0 and stages["closing"]["archive"]["orders"] > 0
    assert list((desk / "outbox").rglob("*.eml")), "no message reached the outbox"
    assert list((desk / "reports").glob("周度汇总-*.xlsx"))
    # a second demo into the same folder replaces the earlier one (it is marked as a demo desk)
    again = subprocess.run([sys.executable, "-m", "xl_addin", "demo", "--dir", str(desk), "--orders", "20", "--json"],
                           capture_output=True, text=True, env=env, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
