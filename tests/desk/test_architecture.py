"""The package's shape, checked on its source: import cycles (imports inside functions count), module size,
SQL only in the store adapters, openpyxl only in the workbook adapters.

Each rule names what still breaks it in ``KNOWN`` (the structure issue's remaining debt). The lists may only
shrink: a new offender fails, and so does an entry that no longer offends (delete it, the debt is paid).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "xl_addin"
MAX_LINES = 500
SQL = re.compile(r"""["'](?:\s*)(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE|ALTER\s+TABLE)\b""",
                 re.IGNORECASE)

KNOWN = {
    "cycles": set(),
    "large": set(),
    "sql": set(),
    "openpyxl": set(),
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every package module ``name`` imports, at any depth of the file (functions included)."""
    found: set[str] = set()
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if target in MODULES:
                found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES)
    found.discard(name)
    return found


def _cycles() -> set[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    graph = {m: _imports(m, p) for m, p in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: set[frozenset[str]] = set()
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.add(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    out.add(frozenset(comp))
    return out


def _package_init_cycle(comp: frozenset[str]) -> bool:
    """``pkg/__init__`` re-exporting ``pkg.mod`` that imports a sibling through ``pkg``: a packaging detail."""
    return len(comp) == 2 and any(other.startswith(name + ".") for name in comp for other in comp)


def _offenders(rule: str) -> set:
    if rule == "cycles":
        return {c for c in _cycles() if not _package_init_cycle(c)}
    if rule == "large":
        return {m for m, p in MODULES.items() if len(p.read_text(encoding="utf-8").splitlines()) > MAX_LINES}
    if rule == "sql":
        return {m for m, p in MODULES.items()
                if not m.startswith("xl_addin.adapters.store") and SQL.search(p.read_text(encoding="utf-8"))}
    if rule == "openpyxl":
        return {m for m, p in MODULES.items()
                if not m.startswith("xl_addin.adapters.workbook") and re.search(r"^\s*(from|import) openpyxl",
                                                                                 p.read_text(encoding="utf-8"), re.M)}
    raise AssertionError(rule)


@pytest.mark.parametrize("rule", sorted(KNOWN))
def test_no_new_offender_and_no_stale_entry(rule):
    now = _offenders(rule)
    new = now - KNOWN[rule]
    paid = KNOWN[rule] - now
    assert not new, f"{rule}: new offenders {sorted(map(str, new))}"
    assert not paid, f"{rule}: no longer offending, remove from KNOWN: {sorted(map(str, paid))}"


def test_the_checker_sees_a_cycle_through_a_function_level_import(tmp_path, monkeypatch):
    """The cycle rule must count imports inside functions, where cycles hide."""
    pkg = tmp_path / "xl_addin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from xl_addin import b\n")
    (pkg / "b.py").write_text("def f():\n    from xl_addin.a import x\n")
    here = sys.modules[__name__]
    monkeypatch.setattr(here, "PACKAGE", pkg)
    monkeypatch.setattr(here, "MODULES", _modules())
    assert _cycles() == {frozenset({"xl_addin.a", "xl_addin.b"})}


# ---------------------------------------------------------------- the use-case contract

# Use cases written to the contract ``run(uow, request) -> Report`` (docs/architecture.md, "How to add a use
# case"). Every module of services/ with a top-level ``run`` is held to it; these must stay converted.
CONVERTED = {"xl_addin.services.closing.close", "xl_addin.services.waybills.review"}
# what a use case never imports: the screens it ends on, and the composition root that builds its uow
NOT_IN_A_USE_CASE = ("click", "xlwings", "xl_addin.bootstrap", "xl_addin.entrypoints", "xl_addin.excel")


def _use_case_modules() -> set[str]:
    return {m for m, p in MODULES.items() if m.startswith("xl_addin.services.")
            and any(isinstance(n, ast.FunctionDef) and n.name == "run" for n in ast.parse(p.read_text(encoding="utf-8")).body)}


def _every_import(path: Path) -> set[str]:
    """Every module a file imports (any package, at any depth of the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_converted_use_cases_are_found():
    assert CONVERTED <= _use_case_modules()


@pytest.mark.parametrize("name", sorted(CONVERTED | _use_case_modules()))
def test_a_use_case_exports_run_uow_request_returning_a_report(name):
    import dataclasses
    import importlib
    import inspect
    import typing

    from xl_addin.services.report import Report
    from xl_addin.services.uow import UnitOfWork

    run = importlib.import_module(name).run
    params = list(inspect.signature(run).parameters.values())
    assert [p.name for p in params] == ["uow", "request"], name
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.default is inspect.Parameter.empty
               for p in params), name
    hints = typing.get_type_hints(run)
    assert hints["uow"] is UnitOfWork and hints["return"] is Report, name
    request = hints["request"]
    assert dataclasses.is_dataclass(request) and request.__dataclass_params__.frozen, (name, request)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(CONVERTED | _use_case_modules()))
def test_a_use_case_imports_neither_click_nor_xlwings_nor_what_builds_its_uow(name):
    imported = _every_import(MODULES[name])
    bad = {m for m in imported for banned in NOT_IN_A_USE_CASE if m == banned or m.startswith(banned + ".")}
    assert not bad, f"{name} imports {sorted(bad)}"


def test_the_contract_checker_sees_a_forbidden_import_inside_a_function(tmp_path):
    path = tmp_path / "case.py"
    path.write_text("def run(uow, request):\n    import click.testing\n    from xlwings import Book\n")
    assert {"click.testing", "xlwings"} <= _every_import(path)


def test_no_test_module_imports_another_test_module():
    """Shared test code lives in tests/support or a folder's helpers module, never in another test file."""
    tests_root = Path(__file__).resolve().parents[1]
    pattern = re.compile(r"^\s*(?:from|import)\s+(?:tests\.\w+\.)?test_\w+", re.M)
    offenders = [str(p.relative_to(tests_root)) for p in tests_root.rglob("*.py") if pattern.search(p.read_text("utf-8"))]
    assert offenders == []
