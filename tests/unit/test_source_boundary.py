"""``warehouse/source`` is the one place where config becomes SQL.

A module outside it that builds a table reference, or reads a configured time column to filter
or compute with, would drift from the one rule for time zones, quoting and model filters (six
hand-built copies of the predictions filter are how a ``timestamptz`` column once crashed every
window). These tests read the package's source and fail naming the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import modelwatch

PACKAGE = Path(modelwatch.__file__).parent
SOURCE = PACKAGE / "warehouse" / "source.py"
TIME_KEYS = {"event_ts", "label_ts", "kpi_ts", "timestamp_column"}
# config/ defines the keys; the demo generator writes its own tables (it is the user, not a
# reader); the input contract names every configured column to check its type in the catalog, and
# reads zero rows of them through ``table_ref`` (it filters nothing)
EXEMPT_DIRS = {"config"}
EXEMPT_FILES = {PACKAGE / "demo" / "scenario.py", PACKAGE / "warehouse" / "contract.py"}
# information_schema is the catalog, not a user's table
CATALOG_TABLES = {"columns", "tables"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if path == SOURCE or rel.parts[0] in EXEMPT_DIRS or path in EXEMPT_FILES:
            continue
        yield path, ast.parse(path.read_text(), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"


def _config_time_key(node: ast.Attribute) -> bool:
    """``cfg.columns.event_ts``, ``c.label_ts`` (``c = cfg.columns``), ``s.kpi_ts``,
    ``cfg.outcome.kpi_ts``, ``….offline_freshness.timestamp_column`` — not ``lab.c.label_ts``
    (a derived column of a subquery, named in SQL by the module itself)."""
    if node.attr not in TIME_KEYS:
        return False
    value = node.value
    if isinstance(value, ast.Attribute):
        return value.attr in {"columns", "outcome", "offline_freshness"}
    return isinstance(value, ast.Name) and value.id in {"c", "cols", "columns", "s", "settings"}


def test_no_module_reads_a_configured_time_column_outside_source():
    found = [f"{_where(path, node)} reads .{node.attr}"
             for path, tree in _modules() for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and _config_time_key(node)]
    assert not found, ("time columns are read only through warehouse/source (event_time, "
                       "label_time, kpi_time, offline_time, window_filter, ...):\n" + "\n".join(found))


def _table_call(node: ast.Call) -> str | None:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name == "table_ref":
        return "table_ref"
    module = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
    if name == "table" and module in {"sa", "sqlalchemy"}:
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and first.value in CATALOG_TABLES:
            return None
        return "sa.table"
    return None


def test_no_module_builds_a_table_reference_outside_source():
    found = [f"{_where(path, node)} calls {kind}()"
             for path, tree in _modules() for node in ast.walk(tree)
             if isinstance(node, ast.Call) and (kind := _table_call(node))]
    assert not found, ("input tables are referenced only through warehouse/source "
                       "(predictions_ref, labels_ref, shadow_ref, offline_ref, kpis_ref):\n"
                       + "\n".join(found))


def test_the_checks_see_a_violation(tmp_path):
    """The two rules above catch what they are meant to (so an empty result means something)."""
    tree = ast.parse("def f(cfg, tbl, c):\n"
                     "    x = table_ref(cfg.tables.labels, c.request_id)\n"
                     "    return sa.select(tbl).where(tbl.c[cfg.columns.event_ts] >= 1, c.label_ts)\n")
    attrs = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and _config_time_key(n)]
    calls = [k for n in ast.walk(tree) if isinstance(n, ast.Call) and (k := _table_call(n))]
    assert sorted(attrs) == ["event_ts", "label_ts"]
    assert calls == ["table_ref"]
