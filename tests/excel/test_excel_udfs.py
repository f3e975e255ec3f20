"""The worksheet functions as Excel runs them: xlwings' real decorators and ``call_udf`` in a process
that loads xlwings as on Windows (``windows_standins``), COM ranges from ``fake_excel``, a desk
whose store was built by the real migrations and filled by the tracking store's own writes."""

import json
import textwrap

import pytest
from excel_tier import TRACKED, tracked_desk  # noqa: F401  (a fixture)
from excel_tier import run_windows_like as _run

COLUMN = 5000


@pytest.fixture(scope="module")
def results(tracked_desk):
    numbers = [TRACKED] + [f"SF{9000000000000 + i}" for i in range(COLUMN - 2)] + [None]
    r = _run(["udf_calls.py", str(tracked_desk)], stdin=json.dumps(numbers))
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def test_single_cell_shows_status_and_china_time(results):
    # xlwings always hands COM a 2-D array; a 1x1 one is what the cell shows as its value
    assert results["single"] == [["运输中 11-27 14:00"]]  # 06:00 UTC = 14:00 China time
    assert results["status"] == [["InTransit"]]


def test_eta_arrives_as_a_date(results):
    # xlwings hands COM a datetime at midnight stamped UTC (what Excel stores as the date serial)
    assert results["eta"] == [[{"date": "2026-11-29T00:00:00+00:00"}]]


def test_a_5000_row_column_returns_one_row_per_cell(results):
    column = results["column"]
    assert len(column) == COLUMN and all(len(row) == 1 for row in column)
    assert column[0] == ["运输中 11-27 14:00"]
    assert column[1] == ["未跟踪"] and column[-2] == ["未跟踪"]
    assert column[-1] == [""]  # an empty cell stays empty


def test_nodes_come_back_as_a_table(results):
    table = results["nodes"]
    assert table[0] == ["时间", "节点", "状态"]
    assert [row[1] for row in table[1:]] == ["【杭州转运中心】已到达", "顺丰速运 已收取快件"]


def test_unknown_number_and_format_checks(results):
    assert results["unknown"] == [["未跟踪"]]
    assert results["phone"][0][0].startswith("✗")
    assert results["waybill_ok"] == [[True]]
    (carrier,), = results["number_as_float"]  # a number typed in a cell arrives as a float: 1234567890123.0
    assert carrier not in ("", None, "无法识别") and not carrier.startswith("#")


def test_unsaved_calling_book_says_where_the_store_is_missing(results):
    assert results["unsaved"] == [["#N/A 状态库不可用"]]


def test_a_mismatched_xw_arg_fails_at_import_under_the_real_decorators(tmp_path):
    """The harness can fail: xlwings' real xlarg rejects a name that is not a parameter (the old defect)."""
    (tmp_path / "broken_udfs.py").write_text(textwrap.dedent('''
        import xlwings as xw

        @xw.func
        @xw.arg("waybill", ndim=2)
        def CARRIER(value):
            return value
    '''), encoding="utf-8")
    code = "import windows_standins, sys; sys.path.insert(0, sys.argv[1]); import broken_udfs"
    r = _run(["-c", code, str(tmp_path)])
    assert r.returncode != 0 and "Invalid argument name 'waybill'" in r.stderr


def test_our_module_imports_under_the_real_decorators():
    code = ("import windows_standins, json, xlwings as xw, xlwings.udfs as u; "
            "assert xw.func is u.xlfunc and xw.arg is u.xlarg; import xl_addin.udfs as m; "
            "print(json.dumps({f.__name__: [a['name'] for a in f.__xlfunc__['args']] for f in m.EXCEL_FUNCTIONS}))")
    r = _run(["-c", code])
    assert r.returncode == 0, r.stderr[-2000:]
    args = json.loads(r.stdout)
    assert args["TRACK"] == ["waybill", "caller"] and args["WAYBILL_OK"] == ["waybill", "carrier"]
    assert args["PHONE_OK"] == ["phone"] and args["ADDRESS_OK"] == ["address"]


def test_a_cell_formula_through_the_shipped_vba_and_xlwings_call_udf(tracked_desk, tmp_path):
    """The whole chain: the built add-in's VBA wrapper (VBA interpreter) → XLPy.CallUDF → xlwings'
    real call_udf → our function → the store; the calling cell's workbook lies in the desk."""
    from xl_addin.excel.addin_build import build_addin

    addin = build_addin(tmp_path / "xl-logistics.xlam")
    r = _run(["vba_to_python.py", str(addin), str(tracked_desk)])
    assert r.returncode == 0, r.stderr[-3000:]
    cells = json.loads(r.stdout)
    assert cells['=TRACK("SF1234567890123")'] == [["运输中 11-27 14:00"]]
    assert cells['=TRACK("XYZ")'] == [["未跟踪"]]
    assert cells['=PHONE_OK("123")'][0][0].startswith("✗")
