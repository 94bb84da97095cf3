"""What the data layer compares a window with, computed once per reference and cached.

Stored as a row of ``mw_reference_profile`` with ``profile_key = "data_layer:" + hash`` (the hash
covers the main profile's key and every data-layer setting that shapes this data), beside the
main profile and never mistaken for it. It holds:

- ``columns``: the predictions table's column types when the reference was taken (the schema
  check's baseline);
- per feature: the watched constants (configured ones, the reference mean and mode) with their
  reference shares, the range bounds with the reference's share outside them, and the
  reference's non-finite share.

Building it costs one scan of the reference for all features plus one ``GROUP BY`` per feature
for its mode; every later run reads one row.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.scan import Candidate, FeatureSpec, scan, source_for, top_value
from modelwatch.errors import ContractError
from modelwatch.profile import Profile
from modelwatch.warehouse.catalog import live_columns
from modelwatch.warehouse.tables import mw_reference_profile

REFERENCE_FORMAT = 1
KEY_PREFIX = "data_layer:"


def reference_bounds(cfg: MonitorConfig) -> tuple[datetime, datetime]:
    """The reference period, as the main profile reads it (a table reference: all of it)."""
    ref = cfg.reference
    if ref.start and ref.end and not ref.table:
        return ref.start.replace(tzinfo=None), ref.end.replace(tzinfo=None)
    return datetime(1970, 1, 1), datetime(9999, 1, 1)


def reference_key(cfg: MonitorConfig, profile: Profile) -> str:
    s = cfg.data_layer
    spec = {
        "format": REFERENCE_FORMAT,
        "profile": profile.profile_key,
        "features": [(f.name, f.kind) for f in cfg.features],
        "defaulting": s.defaulting.model_dump(mode="json", exclude={"enabled", "min_rows"}),
        "margin": s.ranges.margin,
        "table": cfg.tables.predictions,
    }
    return KEY_PREFIX + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]


def range_bounds(profile: Profile, name: str, margin: float) -> tuple[float, float] | None:
    """[p1, p99] of the reference widened by ``margin`` × (p99 − p1) on both sides."""
    pct = (profile.data.get("numeric", {}).get(name) or {}).get("percentiles") or {}
    if "p1" not in pct or "p99" not in pct:
        return None
    lo, hi = float(pct["p1"]), float(pct["p99"])
    width = hi - lo
    return lo - margin * width, hi + margin * width


def _candidates(cfg: MonitorConfig, profile: Profile, name: str, kind: str,
                mode: tuple[object, int] | None) -> tuple[Candidate, ...]:
    d = cfg.data_layer.defaulting
    found: list[Candidate] = []

    def add(candidate: Candidate) -> None:
        for other in found:
            if isinstance(other.value, str) or isinstance(candidate.value, str):
                if other.value == candidate.value:
                    return
            elif abs(float(other.value) - float(candidate.value)) <= max(
                    other.tolerance, candidate.tolerance) * abs(float(candidate.value)):
                return
        found.append(candidate)

    if kind == "numeric":
        for value in d.numeric_constants:
            add(Candidate(f"{value:g}", float(value)))
        mean = (profile.data.get("numeric", {}).get(name) or {}).get("mean")
        if d.include_reference_mean and mean is not None:
            add(Candidate("mean", float(mean), approx=True, tolerance=d.mean_tolerance))
    else:
        for value in d.categorical_constants:
            add(Candidate(repr(value), value))
    if d.include_reference_mode and mode is not None:
        value = str(mode[0]) if kind == "categorical" else float(mode[0])
        add(Candidate("mode", value))
    return tuple(found)


def build_reference(conn: Connection, cfg: MonitorConfig, profile: Profile,
                    live: dict[str, str]) -> dict:
    """Scan the reference once for the shares every window is compared with."""
    table = cfg.reference.table
    available = live if not table else (live_columns(conn, table) or {})
    features = [f for f in cfg.features if f.name in available]
    start, end = reference_bounds(cfg)
    source = source_for(cfg, [f.name for f in features], start, end, table)
    margin = cfg.data_layer.ranges.margin
    specs = []
    for f in features:
        mode = top_value(conn, source, f.name, f.kind) if cfg.data_layer.defaulting.include_reference_mode \
            else None
        bounds = range_bounds(profile, f.name, margin) if f.kind == "numeric" else None
        specs.append(FeatureSpec(f.name, f.kind, _candidates(cfg, profile, f.name, f.kind, mode), bounds))
    counts = scan(conn, cfg, source, specs)
    result = {}
    for spec in specs:
        c = counts.features[spec.name]
        valid = c.valid(spec.kind)
        result[spec.name] = {
            "kind": spec.kind,
            "candidates": [{"label": cand.label, "value": cand.value, "approx": cand.approx,
                            "tolerance": cand.tolerance,
                            "share": c.candidates[j] / valid if valid else None}
                           for j, cand in enumerate(spec.candidates)],
            "bounds": list(spec.bounds) if spec.bounds else None,
            "out_of_range_share": c.out_of_range / valid if valid and spec.bounds else None,
            "non_finite_share": c.non_finite / c.non_null if c.non_null else None,
            "valid": valid,
        }
    return {"format": REFERENCE_FORMAT, "rows": counts.rows, "columns": live, "features": result}


def ensure_reference(engine: Engine, cfg: MonitorConfig, profile: Profile) -> dict:
    """Load this reference's data-layer baseline, computing and storing it the first time."""
    key = reference_key(cfg, profile)
    with engine.begin() as conn:
        stored = conn.execute(sa.select(mw_reference_profile.c.profile).where(
            mw_reference_profile.c.model_name == cfg.model.name,
            mw_reference_profile.c.profile_key == key)).scalar_one_or_none()
        if stored is not None:
            return json.loads(stored) if isinstance(stored, str) else stored
        live = live_columns(conn, cfg.tables.predictions)
        if live is None:
            raise ContractError(f"{cfg.model.name}: table {cfg.tables.predictions!r} does not exist. Fix: "
                                "load the predictions table, or correct `tables.predictions`")
        data = build_reference(conn, cfg, profile, live)
        conn.execute(sa.insert(mw_reference_profile).values(
            model_name=cfg.model.name, profile_key=key, model_version=cfg.reference.model_version,
            reference=cfg.reference.model_dump(mode="json"), profile=data, created_at=utcnow()))
    return data


def candidates_of(entry: dict) -> tuple[Candidate, ...]:
    return tuple(Candidate(c["label"], c["value"], c["approx"], c["tolerance"])
                 for c in entry["candidates"])
