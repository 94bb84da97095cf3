"""The expectation suite of a window, as plain data (no GX import): generated from the reference
profile, then merged with the monitor's own expectations.

Generated, per the reference:

- every monitored column exists (``expect_column_to_exist``);
- the request id is never null and unique;
- per feature, the null rate stays below the reference's plus ``null_rate_margin``
  (``expect_column_values_to_not_be_null`` with ``mostly``);
- per numeric feature, values lie in [p1, p99] widened by ``range_margin`` × (p99 − p1), for
  at least ``range_mostly`` of them;
- per categorical feature with at most ``max_set_size`` values in the reference (all of them in
  the profile's top-K), values are in that set for at least ``set_mostly`` of them — compared as
  text, like every layer counts categories, whether the column is text, an ENUM, a BOOLEAN or an
  integer code;
- the row count lies within the same-weekday reference median × (1 ± ``row_count_margin``).

A user expectation with the same name and column replaces the generated one. Columns that are
missing or changed type keep only their ``expect_column_to_exist`` (the schema check reports
them), so GX evaluates no expression on a column that is not there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from modelwatch.config.data_layer import expectation_target
from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.schema_check import monitored_columns
from modelwatch.profile import Profile
from modelwatch.warehouse.contract import CATEGORICAL, type_family


@dataclass(frozen=True)
class ExpectationSpec:
    type: str
    kwargs: dict = field(default_factory=dict)
    severity: str = "notify"
    origin: str = "generated"

    @property
    def target(self) -> str | None:
        return expectation_target(self.kwargs)

    @property
    def key(self) -> tuple[str, str | None]:
        return self.type, self.target


def _null_rate(profile: Profile, name: str) -> float | None:
    for section in ("numeric", "categorical"):
        entry = profile.data.get(section, {}).get(name)
        if entry is not None:
            return entry.get("null_rate")
    return None


def generated_expectations(cfg: MonitorConfig, profile: Profile, live: dict[str, str],
                           broken: set[str], expected_rows: float | None) -> list[ExpectationSpec]:
    g = cfg.data_layer.great_expectations
    sev = g.generated_severity
    specs = [ExpectationSpec("expect_column_to_exist", {"column": col}, sev)
             for col in monitored_columns(cfg)]
    rid = cfg.columns.request_id
    if rid not in broken:
        specs += [ExpectationSpec("expect_column_values_to_not_be_null", {"column": rid}, sev),
                  ExpectationSpec("expect_column_values_to_be_unique", {"column": rid}, sev)]
    for f in cfg.features:
        if f.name in broken or f.name not in live:
            continue
        ref_null = _null_rate(profile, f.name)
        if ref_null is not None and ref_null + g.null_rate_margin < 1:
            mostly = round(1.0 - (ref_null + g.null_rate_margin), 6)
            specs.append(ExpectationSpec("expect_column_values_to_not_be_null",
                                         {"column": f.name, "mostly": mostly}, sev))
        if f.kind == "numeric":
            pct = (profile.data.get("numeric", {}).get(f.name) or {}).get("percentiles") or {}
            if "p1" in pct and "p99" in pct:
                lo, hi = float(pct["p1"]), float(pct["p99"])
                pad = g.range_margin * (hi - lo)
                specs.append(ExpectationSpec("expect_column_values_to_be_between", {
                    "column": f.name, "min_value": lo - pad, "max_value": hi + pad,
                    "mostly": g.range_mostly}, sev))
        else:
            entry = profile.data.get("categorical", {}).get(f.name) or {}
            values = entry.get("categories") or []
            cardinality = entry.get("cardinality") or 0
            # any scalar type: the GX view projects categoricals as text (gx/checkpoint)
            scalar = type_family(live.get(f.name, "")) in CATEGORICAL
            if values and scalar and cardinality <= min(g.max_set_size, len(values)):
                specs.append(ExpectationSpec("expect_column_values_to_be_in_set", {
                    "column": f.name, "value_set": sorted(values), "mostly": g.set_mostly}, sev))
    if expected_rows:
        m = g.row_count_margin
        specs.append(ExpectationSpec("expect_table_row_count_to_be_between", {
            "min_value": int(math.floor(expected_rows * max(1 - m, 0))),
            "max_value": int(math.ceil(expected_rows * (1 + m)))}, sev))
    return specs


def build_suite(cfg: MonitorConfig, profile: Profile, live: dict[str, str], broken: set[str],
                expected_rows: float | None) -> list[ExpectationSpec]:
    """Generated expectations (if enabled) merged with the user's; user ones win on a clash."""
    g = cfg.data_layer.great_expectations
    generated = generated_expectations(cfg, profile, live, broken, expected_rows) if g.generated else []
    user = [ExpectationSpec(e.expectation, dict(e.kwargs), e.severity, "user") for e in g.expectations]
    user_keys = {s.key for s in user}
    merged = [s for s in generated if s.key not in user_keys] + user
    seen: set[tuple[str, str | None]] = set()
    unique = []
    for spec in merged:  # one metric row per (expectation, column)
        if spec.key not in seen:
            seen.add(spec.key)
            unique.append(spec)
    return unique
