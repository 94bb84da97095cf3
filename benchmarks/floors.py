"""Floors for the drift benchmark: the least work a PSI check over the same data can do.

Two tools with nothing around the arithmetic — no config, no thresholds beyond PSI >= 0.1, no
slices, no metric writes — so the gap between them and modelwatch is what modelwatch's product
costs (SQLAlchemy, calibration, five methods, the metric rows):

- ``numpy-floor``: both windows read from Parquet into NumPy arrays (categoricals as dictionary
  codes), reference deciles with ``np.quantile``, then per window ``searchsorted`` + ``bincount``
  per numeric column and ``bincount`` of remapped codes per categorical column. It also times an
  exact two-sample KS per numeric column (sorting the window), reported apart: the cost of KS
  from raw values, which modelwatch's grid avoids.
- ``duckdb-floor``: the same PSI on the modelwatch benchmark's DuckDB warehouse with raw SQL and
  no SQLAlchemy: reference deciles by ``quantile_cont`` (fit), then per window one ``UNION ALL``
  of equal-width grid-cell counts (the cheapest DuckDB histogram, docs NOTES) and category
  counts; cells are mapped to the deciles in NumPy.

Both run in the project's venv as children of ``drift_vs_peers.py`` and report like the other
tools (phases, flagged columns, peak RSS).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

PSI_WARN = 0.1
TOP_K = 50
GRID_CELLS = 2048
DECILES = [i / 10 for i in range(1, 10)]


def psi(reference, current, eps: float = 1e-4) -> float:
    import numpy as np

    p = np.maximum(reference / max(reference.sum(), 1), eps)
    q = np.maximum(current / max(current.sum(), 1), eps)
    return float(np.sum((q - p) * np.log(q / p)))


def _result(tool: str, scores: dict, import_s: float, phases: dict,
            extra: dict | None = None) -> dict:
    from importlib.metadata import version

    flagged = sorted(name for name, value in scores.items() if value >= PSI_WARN)
    return {"tool": tool, "import_s": import_s, "phases": phases, "flagged": flagged,
            "method": "PSI, 10 reference deciles / top-50 + other; flagged at >= 0.1",
            "versions": {"numpy": version("numpy"), "duckdb": version("duckdb"),
                         "pyarrow": version("pyarrow")},
            "scores": {name: {"psi": {"value": value}} for name, value in scores.items()},
            **(extra or {})}


def numpy_floor(data_dir: Path, variant: str) -> dict:
    started = time.perf_counter()
    import numpy as np
    import pyarrow.parquet as pq
    import_s = time.perf_counter() - started

    spec = json.loads((data_dir / "workload.json").read_text())
    numeric, categorical = spec["numeric"] + ["score"], spec["categorical"]
    t0 = time.perf_counter()
    ref = pq.read_table(data_dir / spec["files"]["reference"], read_dictionary=categorical)
    cur = pq.read_table(data_dir / spec["files"][variant], read_dictionary=categorical)

    def arrays(table) -> tuple[dict, dict]:
        nums = {c: table.column(c).to_numpy().astype(float) for c in numeric}
        cats = {}
        for c in categorical:
            chunk = table.column(c).combine_chunks()
            cats[c] = (chunk.indices.to_numpy(zero_copy_only=False), chunk.dictionary.to_pylist())
        return nums, cats

    ref_num, ref_cat = arrays(ref)
    cur_num, cur_cat = arrays(cur)
    del ref, cur
    t1 = time.perf_counter()

    fit: dict = {}
    for c in numeric:
        values = ref_num[c][np.isfinite(ref_num[c])]
        edges = np.unique(np.quantile(values, DECILES))
        fit[c] = (edges, np.bincount(np.searchsorted(edges, values, side="right"),
                                     minlength=edges.size + 1), np.sort(values))
    for c in categorical:
        codes, dictionary = ref_cat[c]
        counts = np.bincount(codes, minlength=len(dictionary))
        top = np.argsort(-counts, kind="stable")[:TOP_K]
        keep = {dictionary[i]: k for k, i in enumerate(top)}
        fit[c] = (keep, np.append(counts[top], counts.sum() - counts[top].sum()))
    t2 = time.perf_counter()

    scores: dict[str, float] = {}
    for c in numeric:
        edges, ref_counts, _ = fit[c]
        values = cur_num[c][np.isfinite(cur_num[c])]
        scores[c] = psi(ref_counts, np.bincount(np.searchsorted(edges, values, side="right"),
                                                minlength=edges.size + 1))
    for c in categorical:
        keep, ref_counts = fit[c]
        codes, dictionary = cur_cat[c]
        remap = np.array([keep.get(v, len(keep)) for v in dictionary])  # unseen: other
        scores[c] = psi(ref_counts, np.bincount(remap[codes], minlength=len(keep) + 1))
    t3 = time.perf_counter()

    ks = {}
    for c in numeric:
        ref_sorted = fit[c][2]
        cur_sorted = np.sort(cur_num[c][np.isfinite(cur_num[c])])
        grid = np.concatenate([ref_sorted, cur_sorted])
        ks[c] = float(np.max(np.abs(
            np.searchsorted(ref_sorted, grid, side="right") / ref_sorted.size
            - np.searchsorted(cur_sorted, grid, side="right") / cur_sorted.size)))
    t4 = time.perf_counter()
    return _result("numpy-floor", {k: v for k, v in scores.items() if k != "score"},
                   import_s, {"load_s": t1 - t0, "fit_s": t2 - t1, "window_s": t3 - t2},
                   {"exact_ks_s": t4 - t3, "ks": ks})


def duckdb_floor(data_dir: Path, url: str, reference_day: str, current_day: str,
                 end_day: str) -> dict:
    started = time.perf_counter()
    import duckdb
    import numpy as np
    import_s = time.perf_counter() - started

    spec = json.loads((data_dir / "workload.json").read_text())
    numeric, categorical = spec["numeric"] + ["score"], spec["categorical"]
    con = duckdb.connect(url.removeprefix("duckdb:///"), read_only=True)
    con.execute("SET memory_limit = '512MB'")

    def where(lo: str, hi: str) -> str:
        return f"event_ts >= TIMESTAMP '{lo}' AND event_ts < TIMESTAMP '{hi}'"

    probs = "[0.005, " + ", ".join(map(str, DECILES)) + ", 0.995]"
    t1 = time.perf_counter()
    row = con.execute("SELECT " + ", ".join(f"quantile_cont({c}, {probs})" for c in numeric)
                      + f" FROM predictions WHERE {where(reference_day, current_day)}").fetchone()
    grids = {}
    for c, cuts in zip(numeric, row, strict=True):
        lo, hi = cuts[0], cuts[-1]
        inv = GRID_CELLS / (hi - lo) if hi > lo else 1.0
        grids[c] = (lo, inv, np.unique(np.round((np.asarray(cuts[1:-1]) - lo) * inv)))

    def window_counts(lo: str, hi: str) -> tuple[dict, dict]:
        parts = [f"SELECT {i} AS f, CAST(least(greatest(floor((CAST({c} AS DOUBLE) - "
                 f"{g[0]!r}::DOUBLE) * {g[1]!r}::DOUBLE), -1.0::DOUBLE), {GRID_CELLS}.0::DOUBLE) "
                 f"AS INTEGER) AS cell, NULL AS v, count(*) AS n FROM predictions "
                 f"WHERE {where(lo, hi)} AND {c} IS NOT NULL GROUP BY 2"
                 for i, (c, g) in enumerate(grids.items())]
        parts += [f"SELECT {len(numeric) + i} AS f, NULL AS cell, {c} AS v, count(*) AS n "
                  f"FROM predictions WHERE {where(lo, hi)} AND {c} IS NOT NULL GROUP BY 3"
                  for i, c in enumerate(categorical)]
        rows = con.execute(" UNION ALL ".join(parts)).fetchall()
        nums = {c: np.zeros(grids[c][2].size + 1) for c in numeric}
        cats: dict[str, dict] = {c: {} for c in categorical}
        for f, cell, value, n in rows:
            if f < len(numeric):
                c = numeric[f]
                nums[c][np.searchsorted(grids[c][2], cell, side="right")] += n
            else:
                cats[categorical[f - len(numeric)]][value] = n
        return nums, cats

    ref_nums, ref_cats = window_counts(reference_day, current_day)
    keep = {c: sorted(counts, key=lambda v: (-counts[v], v))[:TOP_K] for c, counts in
            ref_cats.items()}
    t2 = time.perf_counter()
    cur_nums, cur_cats = window_counts(current_day, end_day)
    scores = {c: psi(ref_nums[c], cur_nums[c]) for c in numeric}
    for c in categorical:
        def folded(counts: dict, c=c):
            kept = [counts.get(v, 0) for v in keep[c]]
            return np.asarray(kept + [sum(counts.values()) - sum(kept)], dtype=float)
        scores[c] = psi(folded(ref_cats[c]), folded(cur_cats[c]))
    t3 = time.perf_counter()
    con.close()
    return _result("duckdb-floor", {k: v for k, v in scores.items() if k != "score"},
                   import_s, {"load_s": 0.0, "fit_s": t2 - t1, "window_s": t3 - t2})
