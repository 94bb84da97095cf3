"""``skew_psi``: PSI between the values served online and the offline feature store's values for
the same sampled requests, per feature.

Mismatch rates say *how often* the two sides disagree; PSI says whether the *distributions*
differ — a transformation that shifts every value slightly, or a join that defaults many rows, is
obvious here even when a tolerance hides it from the mismatch rate. Both sides are binned on the
reference profile's PSI bins (numeric: the coarse quantile edges; categorical: the profile's top
categories plus ``__other__``), over the requests present once on both sides with a non-null,
finite value on both, and compared with the registry's ``psi`` (shares floored at 1e-4), the
offline side as reference. One query: the sampled join is scanned once and unpivoted against a
small list of (feature, side) indices, so the cost does not grow with the number of features.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.rows import judged, skipped
from modelwatch.data_layer.skew import sampled_join
from modelwatch.data_layer.sql import as_double, as_text, is_finite
from modelwatch.drift.methods.registry import BinnedInput, get_method
from modelwatch.metrics import MetricRow
from modelwatch.profile import Profile
from modelwatch.warehouse.window_stats import OTHER, bin_expression

CHECK = "skew_psi"


def _bucket(kind: str, col, spec: dict):
    """Bucket label of ``col`` on the profile's bins (NULL when not comparable)."""
    if kind == "numeric":
        return sa.case((is_finite(col), sa.cast(bin_expression(as_double(col), spec["coarse_edges"]),
                                                sa.String)))
    text = as_text(col)
    return sa.case((text.is_(None), sa.null()), (text.in_(spec["categories"]), text),
                   else_=sa.literal(OTHER))


def _labels(kind: str, spec: dict) -> list[str]:
    if kind == "numeric":
        return [str(i) for i in range(len(spec["coarse_edges"]) + 1)]
    return [*spec["categories"], OTHER]


def skew_psi_query(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime,
                   features: list[tuple[str, str, dict]]):
    """(k, bucket, n) counts, k = 2·i for feature i online and 2·i + 1 offline."""
    joined = sampled_join(conn, cfg, start, end, [n for n, _, _ in features])
    both = sa.and_(joined.c.n_rows == 1, joined.c.off_rid.is_not(None))
    indices = sa.union_all(*(sa.select(sa.literal(k, sa.Integer).label("k"))
                             for k in range(2 * len(features)))).subquery("ix")
    whens = []
    for i, (_, kind, spec) in enumerate(features):
        online, offline = _bucket(kind, joined.c[f"on{i}"], spec), _bucket(kind, joined.c[f"off{i}"], spec)
        pair = sa.and_(online.is_not(None), offline.is_not(None))
        whens += [(sa.and_(indices.c.k == 2 * i, pair), online),
                  (sa.and_(indices.c.k == 2 * i + 1, pair), offline)]
    bucket = sa.case(*whens).label("b")
    inner = (sa.select(indices.c.k, bucket).select_from(joined.join(indices, sa.true()))
             .where(both).subquery("u"))
    return (sa.select(inner.c.k, inner.c.b, sa.func.count().label("n"))
            .where(inner.c.b.is_not(None)).group_by(inner.c.k, inner.c.b))


def skew_psi_checks(conn: Connection, cfg: MonitorConfig, profile: Profile, start: datetime,
                    end: datetime, features: list[tuple[str, str]], offline_columns: dict | None
                    ) -> list[MetricRow]:
    """One ``skew_psi`` row per feature present on both sides (skipped rows say why not)."""
    if offline_columns is None:
        return [skipped(CHECK, name, "missing_offline_table") for name, _ in features]
    specs = {**profile.data["numeric"], **profile.data["categorical"]}
    rows, usable = [], []
    for name, kind in features:
        if name not in offline_columns:
            rows.append(skipped(CHECK, name, "missing_offline_column"))
        elif name not in specs:
            rows.append(skipped(CHECK, name, "empty_reference",
                                f"{name} has no bins in the reference profile"))
        else:
            usable.append((name, kind, specs[name]))
    if not usable:
        return rows
    counts: dict[int, dict[str, int]] = {}
    for k, b, n in conn.execute(skew_psi_query(conn, cfg, start, end, usable)).all():
        counts.setdefault(int(k), {})[str(b)] = int(n)
    psi = get_method("psi", "numeric").func
    minimum = cfg.data_layer.skew.min_sampled
    for i, (name, kind, spec) in enumerate(usable):
        labels = _labels(kind, spec)
        online = np.array([counts.get(2 * i, {}).get(b, 0) for b in labels], dtype=float)
        offline = np.array([counts.get(2 * i + 1, {}).get(b, 0) for b in labels], dtype=float)
        pairs = int(online.sum())
        if pairs < minimum:
            rows.append(skipped(CHECK, name, "too_few_rows",
                                f"{name}: {pairs} sampled requests with a value on both sides, fewer than "
                                f"data_layer.skew.min_sampled={minimum}", pairs=pairs))
            continue
        value = psi(BinnedInput(offline, online)).value
        worst = int(np.argmax(np.abs(online - offline)))
        row = judged(cfg, CHECK, name, value, {
            "pairs": pairs, "bins": len(labels), "reference_side": "offline",
            "largest_gap_bin": labels[worst],
            "largest_gap": float((online[worst] - offline[worst]) / pairs)})
        row.details["message"] = (f"{name}: PSI online vs offline = {value:.3g} over {pairs} sampled "
                                  f"requests (largest gap in bin {labels[worst]}: "
                                  f"{100 * row.details['largest_gap']:+.1f} points)")
        rows.append(row)
    return rows
