"""The one vocabulary: every code the product can produce has a Chinese label in xl_addin.display.vocabulary.

Codes are enumerated from the domain's own enums and constants (and, for job names and run results, from
the calls that record them), so a new code without a label fails here."""

import ast
import functools
import re
from pathlib import Path

import pytest

from xl_addin.display.vocabulary import VOCABULARY, case_kind, label, labels, tally

PKG = Path(__file__).resolve().parents[2] / "xl_addin"
HAN = re.compile(r"[\u4e00-\u9fff]")


@functools.lru_cache(maxsize=None)
def _trees():
    return [ast.parse(p.read_text(encoding="utf-8")) for p in PKG.rglob("*.py")]


def _calls(name: str):
    for tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                if (isinstance(f, ast.Name) and f.id == name) or (isinstance(f, ast.Attribute) and f.attr == name):
                    yield tree, node


def _strings(tree, node) -> set[str]:
    """The string constants an argument can be: a literal, a conditional of literals, or a local name so assigned."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(tree, node.body) | _strings(tree, node.orelse)
    if isinstance(node, ast.Name):
        out = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.Assign):
                for t in n.targets:
                    if isinstance(t, ast.Name) and t.id == node.id:
                        out |= _strings(tree, n.value)
                    elif isinstance(t, ast.Tuple) and isinstance(n.value, ast.Tuple):
                        for tt, vv in zip(t.elts, n.value.elts):
                            if isinstance(tt, ast.Name) and tt.id == node.id:
                                out |= _strings(tree, vv)
        return out
    return set()


def job_names() -> set[str]:
    names = set()
    for tree, call in _calls("run_job"):
        if len(call.args) >= 2:
            names |= _strings(tree, call.args[1])
    for tree, call in _calls("start_job"):
        if call.args and not isinstance(call.args[0], ast.Name) or (call.args and _strings(tree, call.args[0])):
            names |= _strings(tree, call.args[0])
    return names


def job_statuses() -> set[str]:
    out = {"running"}  # what start_job writes
    for tree, call in _calls("finish_job"):
        if len(call.args) >= 3:
            out |= _strings(tree, call.args[2])
    from xl_addin.services.tracking import RefreshResult
    from datetime import datetime

    r = RefreshResult(as_of=datetime.now())
    out.add(r.job_status)
    r.failed = 1
    out.add(r.job_status)
    return out


@functools.lru_cache(maxsize=None)
def codes() -> dict[str, set[str]]:
    from xl_addin.adapters.store import subscriptions, waybills as sw
    from xl_addin.adapters.providers import kuaidi100
    from xl_addin.domain import cases as dc, closing, confirmation, notifications, sla
    from xl_addin.domain.problems import ERROR, WARNING
    from xl_addin.domain.tracking import events
    from xl_addin.domain.tracking.anomalies import AnomalyConfig
    from xl_addin.domain.tracking.status import MainStatus, SubStatus
    from xl_addin.domain.waybills import carriers, regions
    from xl_addin.services.desk.setup import BOOK_KEYS
    from xl_addin.services.tracking import RefreshResult
    from datetime import datetime

    counts = set(RefreshResult(as_of=datetime.now()).counts()) - {"queried", "anomalies", "cases_opened"}
    return {
        "order_status": {confirmation.AWAITING, confirmation.CONFIRMED, confirmation.CANCELLED,
                         *confirmation.LATER_STAGES},
        "check": {"ok", ERROR, WARNING},
        "confirmation_outcome": set(confirmation.OUTCOME_WORDS.values()),
        "tracking_status": {m.value for m in MainStatus} | {s.value for s in SubStatus},
        "node_source": set(events.SOURCES),
        "anomaly_rule": set(AnomalyConfig().enabled),
        "job": job_names(),
        "job_status": job_statuses(),
        "query_outcome": counts | {kuaidi100.NOT_FOUND},
        "case_type": set(dc.TYPES) | set(dc.TYPE_ALIASES),
        "severity": set(dc.SEVERITIES) | set(dc.SEVERITY_ALIASES),
        "case_status": set(dc.STATUSES),
        "case_source": set(dc.SOURCES),
        "sla_clock": set(sla.CLOCKS),
        "followup": {closing.DUE, closing.OVERDUE, closing.DONE},
        "notice_node": set(notifications.NODES),
        "subscription": set(subscriptions.STATES),
        "binding_source": {sw.AUTO, sw.CARRIER_API, sw.MANUAL},
        "binding_state": {sw.RESERVED, sw.BOUND, sw.VOID, sw.REPLACED},
        "review": {sw.PENDING, sw.REVIEWED},
        "service": {carriers.STANDARD, carriers.EXPRESS, carriers.COLD_CHAIN, carriers.BULKY, carriers.INSURED},
        "destination_group": {regions.SAME, regions.NEIGHBOUR, regions.NATIONAL, regions.REMOTE},
        "archive_status": archive_statuses(),
        "book": set(BOOK_KEYS),
    }


def archive_statuses() -> set[str]:
    """The "status" values archive_month returns (dict literals in services/closing/archive.py)."""
    tree = ast.parse((PKG / "services" / "closing" / "archive.py").read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
            for k, v in zip(node.value.keys, node.value.values):
                if isinstance(k, ast.Constant) and k.value == "status":
                    out |= _strings(tree, v)
    return out


def test_the_enumeration_finds_the_jobs_the_cli_runs():
    assert {"refresh", "summary", "archive", "close", "followups", "followups-list"} <= job_names()
    assert {"ok", "failed", "skipped", "partial"} <= job_statuses()
    assert {"archived", "already_complete"} <= archive_statuses()


@pytest.mark.parametrize("kind", sorted(codes()))
def test_every_code_has_a_chinese_label(kind):
    table = VOCABULARY[kind]
    missing = sorted(c for c in codes()[kind] if c not in table)
    assert not missing, f"{kind}: no label for {missing} — add it to xl_addin/display/vocabulary.py"
    english = sorted(c for c in codes()[kind] if not HAN.search(table[c]))
    assert not english, f"{kind}: labels without Chinese for {english}"


def test_every_kind_is_walked():
    assert set(VOCABULARY) == set(codes())


def test_label_helpers():
    assert label("job", "followups-list") == "回访清单"
    assert label("case_source", "anomaly") == "系统预警"
    assert label("anomaly_rule", "not_delivered_by_expected_date") == "超过预计送达日期未签收"
    assert case_kind("delay", "medium") == "延误（中）" and case_kind("延误", "中") == "延误（中）"
    assert tally(labels("notice_node", {"picked_up": 2, "signed": 1})) == "已揽收 2，已签收 1"
    assert label("job", "no-such-job") == "no-such-job" and label("job", None) == ""
