"""Performance-estimation benchmark: modelwatch's estimate against NannyML's CBPE, same data.

    .venv/bin/python benchmarks/cbpe_vs_nannyml.py                 # ~1-2 min, 3 timed runs each
    .venv/bin/python benchmarks/cbpe_vs_nannyml.py --repeats 1     # quicker, one run each
    .venv/bin/python benchmarks/cbpe_vs_nannyml.py --render benchmarks/results/cbpe-2026-12-03.json

One seeded binary-classification workload is written once to Parquet: a labelled reference of
five days (50,000 rows) and 20 daily analysis windows of 5,000-20,000 rows, with a covariate
shift that starts in window 11 and grows to window 20, so the true performance moves. The served
score is a fixed logistic model of four features, deliberately a little over-confident, so both
tools have to calibrate it on the reference. Labels are known for every window; neither tool sees
the analysis labels.

- **modelwatch** (this interpreter's venv, a child process): the Parquet files are loaded into a
  DuckDB file warehouse (``predictions`` for every row, ``labels`` for the reference rows only);
  then, for each analysis day, ``runner.step_outcome`` as a daily run would call it (as of the
  window's end, the window's labels absent), and the window's ``estimated_*`` rows are read.
  Afterwards the analysis labels are inserted and one more ``step_outcome`` as of the end of the
  last window plus the label delay gives modelwatch's own realized values and
  ``estimation_error_*`` rows (a check of the harness, not counted in the runtime).
- **NannyML** (``benchmarks/.venv``, ``peers/nannyml_cbpe.py``): ``CBPE`` fitted on the
  reference, ``estimate`` on the analysis rows without their label column, one chunk per day.
- **Realized** values per window come from the true labels with scikit-learn in this process.

Peers never enter the project's venv: ``benchmarks/.venv`` is created from requirements-peers.txt
when missing (the helpers of ``drift_vs_peers.py``, reused here). Raw numbers go to
``benchmarks/results/cbpe-<date>.json``, the Markdown tables to stdout and
``benchmarks/results/cbpe-<date>.md``; docs/benchmarks.md holds the recorded reading.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import drift_vs_peers as dvp  # benchmarks/ is sys.path[0] when this file is run as a script

BENCH = dvp.BENCH
RESULTS = dvp.RESULTS
PEERS = dvp.PEERS

MODEL_NAME = "cbpe_bench"
SEED = 20261203
METRICS = ("roc_auc", "f1", "accuracy", "precision", "recall")
REFERENCE_START = datetime(2026, 1, 1)
REFERENCE_DAYS = 5
REFERENCE_ROWS_PER_DAY = 10_000
ANALYSIS_START = REFERENCE_START + timedelta(days=REFERENCE_DAYS)
ANALYSIS_DAYS = 20
WINDOW_ROWS = (5_000, 20_000)  # each analysis window's size is drawn uniformly from this range
SHIFT_FROM = 10  # 0-based analysis window where the covariate shift starts (the 11th day)
LABEL_DELAY = timedelta(days=1)
DECISION_THRESHOLD = 0.5

# The true model: P(y = 1 | x) = sigmoid(INTERCEPT + COEF · x), x ~ N(0, I) on the reference.
INTERCEPT = -1.5
COEF = (1.0, 0.8, -0.6, 0.5)
# The served score is over-confident: logit(score) = SCORE_SLOPE * true logit + SCORE_OFFSET. So
# P(y | score) is a fixed monotone function of the score (what both tools assume under covariate
# shift), but not the identity: the score needs calibrating.
SCORE_SLOPE = 1.2
SCORE_OFFSET = 0.2


# --------------------------------------------------------------------------------------------
# Workload
# --------------------------------------------------------------------------------------------

def shift_of(window: int) -> float:
    """Covariate-shift strength of analysis window ``window``: 0 before SHIFT_FROM, then to 1."""
    return max(0.0, (window - SHIFT_FROM + 1) / (ANALYSIS_DAYS - SHIFT_FROM))


def _draw(rng, n: int, shift: float) -> dict:
    """n rows: features, score, decision and label; ``shift`` moves x1 up and widens x2."""
    import numpy as np

    x = rng.normal(0.0, 1.0, (n, len(COEF)))
    x[:, 0] += 1.0 * shift          # more traffic in the high-risk region
    x[:, 1] *= 1.0 + 0.6 * shift    # a wider spread: easier to rank
    x[:, 2] -= 0.5 * shift
    logit = INTERCEPT + x @ np.asarray(COEF)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    score = 1.0 / (1.0 + np.exp(-(SCORE_SLOPE * logit + SCORE_OFFSET)))
    return {"x": x, "score": score, "y_pred": (score >= DECISION_THRESHOLD).astype(np.int64),
            "y_true": y, "offset_us": np.sort(rng.integers(0, 86_400_000_000, n))}


def _write(parts: list[tuple[datetime, int, dict]], path: Path, first_id: int) -> int:
    """One Parquet file of (day, window index, rows) parts; event times spread over each day."""
    import duckdb
    import numpy as np
    import pandas as pd

    frames = []
    rid = first_id
    for day, window, d in parts:
        n = len(d["score"])
        frame = pd.DataFrame({"request_id": np.arange(rid, rid + n, dtype=np.int64),
                              "event_ts": pd.Timestamp(day) + pd.to_timedelta(d["offset_us"], unit="us"),
                              "window_index": np.full(n, window, dtype=np.int64), "score": d["score"],
                              "y_pred": d["y_pred"], "y_true": d["y_true"]})
        for j in range(d["x"].shape[1]):
            frame[f"x{j + 1}"] = d["x"][:, j]
        frames.append(frame)
        rid += n
    con = duckdb.connect()
    try:
        con.register("frame", pd.concat(frames, ignore_index=True))
        con.execute(f"COPY (SELECT * FROM frame ORDER BY event_ts) TO '{path}' (FORMAT parquet)")
    finally:
        con.close()
    return rid


def write_workload(folder: Path, reference_rows: int = REFERENCE_DAYS * REFERENCE_ROWS_PER_DAY
                   ) -> dict:
    """reference.parquet, analysis.parquet and workload.json in ``folder``; returns the spec."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # Separate streams: the analysis windows do not change when the reference size does.
    ref_rng, ana_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(SEED).spawn(2))
    sizes = [int(v) for v in ana_rng.integers(WINDOW_ROWS[0], WINDOW_ROWS[1] + 1, ANALYSIS_DAYS)]
    per_day = reference_rows // REFERENCE_DAYS
    reference = [(REFERENCE_START + timedelta(days=d), -1, _draw(ref_rng, per_day, 0.0))
                 for d in range(REFERENCE_DAYS)]
    next_id = _write(reference, folder / "reference.parquet", 0)
    analysis = [(ANALYSIS_START + timedelta(days=k), k, _draw(ana_rng, sizes[k], shift_of(k)))
                for k in range(ANALYSIS_DAYS)]
    _write(analysis, folder / "analysis.parquet", next_id)
    spec = {
        "seed": SEED,
        "metrics": list(METRICS),
        "reference": {"start": REFERENCE_START.isoformat(), "days": REFERENCE_DAYS,
                      "rows": per_day * REFERENCE_DAYS},
        "analysis": {"start": ANALYSIS_START.isoformat(), "days": ANALYSIS_DAYS,
                     "rows_per_window": sizes, "shift": [shift_of(k) for k in range(ANALYSIS_DAYS)]},
        "model": {"intercept": INTERCEPT, "coef": list(COEF), "score_slope": SCORE_SLOPE,
                  "score_offset": SCORE_OFFSET, "decision_threshold": DECISION_THRESHOLD},
        "label_delay_days": LABEL_DELAY.days,
        "files": {"reference": "reference.parquet", "analysis": "analysis.parquet"},
        "generate_s": round(time.perf_counter() - started, 3),
    }
    (folder / "workload.json").write_text(json.dumps(spec, indent=2))
    return spec


def realized(data_dir: Path) -> dict:
    """The true metrics of every analysis window (and of the reference), from the labels."""
    import duckdb
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

    def metrics(y, p, s) -> dict:
        return {"roc_auc": roc_auc_score(y, s), "f1": f1_score(y, p), "accuracy": accuracy_score(y, p),
                "precision": precision_score(y, p, zero_division=np.nan),
                "recall": recall_score(y, p), "rows": int(len(y)), "positive_rate": float(y.mean())}

    con = duckdb.connect()
    try:
        ref = con.execute(f"SELECT y_true, y_pred, score FROM read_parquet('{data_dir}/reference.parquet')"
                          ).fetchnumpy()
        ana = con.execute(f"SELECT window_index, y_true, y_pred, score FROM read_parquet("
                          f"'{data_dir}/analysis.parquet')").fetchnumpy()
    finally:
        con.close()
    out = {"reference": metrics(ref["y_true"], ref["y_pred"], ref["score"]), "windows": []}
    for k in range(ANALYSIS_DAYS):
        m = ana["window_index"] == k
        out["windows"].append(metrics(ana["y_true"][m], ana["y_pred"][m], ana["score"][m]))
    return out


def oracle(data_dir: Path) -> list[dict]:
    """Expected metrics per window under the *true* P(y | score) (known here, never in practice).

    The score is a monotone function of the true logit, so P(y | score) = sigmoid((logit(score) −
    SCORE_OFFSET) / SCORE_SLOPE) exactly. A confidence-based estimate with a perfect calibrator
    would give these values; the distance of a tool's estimate from them is its calibration error,
    the distance of the realized value from them is label noise.
    """
    import duckdb
    import numpy as np

    con = duckdb.connect()
    try:
        ana = con.execute(f"SELECT window_index, score, y_pred FROM read_parquet("
                          f"'{data_dir}/analysis.parquet')").fetchnumpy()
    finally:
        con.close()
    out = []
    for k in range(ANALYSIS_DAYS):
        m = ana["window_index"] == k
        s, up = ana["score"][m], ana["y_pred"][m] == 1
        p = 1.0 / (1.0 + np.exp(-((np.log(s) - np.log1p(-s) - SCORE_OFFSET) / SCORE_SLOPE)))
        tp, fp = p[up].sum(), (1 - p[up]).sum()
        fn, tn = p[~up].sum(), (1 - p[~up]).sum()
        order = np.argsort(-s, kind="stable")
        tps = np.r_[0.0, np.cumsum(p[order])]
        fps = np.r_[0.0, np.cumsum(1 - p[order])]
        out.append({"roc_auc": float(np.trapezoid(tps / tps[-1], fps / fps[-1])),
                    "accuracy": float((tp + tn) / m.sum()), "precision": float(tp / (tp + fp)),
                    "recall": float(tp / (tp + fn)), "f1": float(2 * tp / (2 * tp + fp + fn))})
    return out


# --------------------------------------------------------------------------------------------
# modelwatch (a child process in the project's venv)
# --------------------------------------------------------------------------------------------

def monitor_config(lookback_windows: int):
    """The benchmark's monitor: modelwatch's defaults, a one-day label delay."""
    from modelwatch.config.schema import MonitorConfig

    owner = {"team": "bench", "slack_channel": "#bench"}
    return MonitorConfig.model_validate({
        "model": {"name": MODEL_NAME, "task": "binary"},
        "owners": {layer: owner for layer in ("data", "model", "outcome", "infra")},
        "warehouse": {"url_env": "MODELWATCH_WAREHOUSE_URL"},
        "tables": {"predictions": "predictions", "labels": "labels"},
        "columns": {"request_id": "request_id", "event_ts": "event_ts", "model_name": "model_name",
                    "model_version": "model_version", "score": "score", "prediction": None,
                    "label": "label", "label_ts": "label_ts"},
        "features": [{"name": f"x{j + 1}", "kind": "numeric"} for j in range(len(COEF))],
        "schedule": {"cron": "@daily", "window": "1d", "start_date": REFERENCE_START.date()},
        "reference": {"start": REFERENCE_START, "end": ANALYSIS_START, "model_version": "v1"},
        "labels": {"delay": f"{LABEL_DELAY.days}d"},
        "outcome": {"lookback_windows": lookback_windows,
                    "decision_threshold": DECISION_THRESHOLD},
    })


def _labels_sql(path: Path) -> str:
    """Labels of a Parquet file, arriving one hour after the end of their event's day."""
    return (f"SELECT request_id, y_true AS label, date_trunc('day', event_ts) + INTERVAL 25 HOUR "
            f"AS label_ts FROM read_parquet('{path}')")


def run_modelwatch(data_dir: Path, db: Path) -> dict:
    """Load the warehouse, then one ``step_outcome`` per analysis day, labels withheld."""
    import os

    from _common import rss_now_mb  # benchmarks/peers/_common.py, put on sys.path by __main__

    os.environ["MODELWATCH_WAREHOUSE_URL"] = f"duckdb:///{db}"
    started = time.perf_counter()
    from importlib.metadata import version

    import sklearn.isotonic  # noqa: F401  imported lazily by modelwatch; untimed, like NannyML's
    import sqlalchemy as sa

    import modelwatch
    from modelwatch.runner import Window, step_outcome
    from modelwatch.warehouse.engine import engine_for_url

    import_s = time.perf_counter() - started
    rss_import = rss_now_mb()

    t0 = time.perf_counter()
    db.unlink(missing_ok=True)
    engine = engine_for_url(os.environ["MODELWATCH_WAREHOUSE_URL"])
    ref, ana = data_dir / "reference.parquet", data_dir / "analysis.parquet"
    features = ", ".join(f"x{j + 1}" for j in range(len(COEF)))
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"CREATE TABLE predictions AS SELECT request_id, event_ts, '{MODEL_NAME}' AS model_name, "
            f"'v1' AS model_version, score, {features} FROM read_parquet(['{ref}', '{ana}'])"))
        conn.execute(sa.text(f"CREATE TABLE labels AS {_labels_sql(ref)}"))
    load_s = time.perf_counter() - t0

    daily = monitor_config(lookback_windows=2)
    per_run, windows = [], []
    for k in range(ANALYSIS_DAYS):
        start = ANALYSIS_START + timedelta(days=k)
        t = time.perf_counter()
        rows = step_outcome(daily, Window(start, start + timedelta(days=1)), run_id=f"cbpe-day-{k}")
        per_run.append(time.perf_counter() - t)
        windows.append(_estimates(rows, start))

    direct = _direct_path(data_dir, daily, windows)

    # The harness check: labels land, one run as of the end of the last window + the delay.
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO labels {_labels_sql(ana)}"))
    as_of = ANALYSIS_START + timedelta(days=ANALYSIS_DAYS) + LABEL_DELAY
    lookback = ANALYSIS_DAYS + LABEL_DELAY.days
    t = time.perf_counter()
    late = step_outcome(monitor_config(lookback_windows=lookback), Window(as_of - timedelta(days=1),
                        as_of), run_id="cbpe-mature")
    mature_s = time.perf_counter() - t
    check = []
    for k in range(ANALYSIS_DAYS):
        start = ANALYSIS_START + timedelta(days=k)
        mine = [r for r in late if r.slice == "all" and r.details.get("window_start") == start.isoformat()]
        check.append({
            "realized": {m: _value(mine, m) for m in METRICS},
            "estimated_again": {m: _value(mine, f"estimated_{m}") for m in METRICS},
            "within_band": {m: next((r.details.get("within_band") for r in mine
                                     if r.check_name == f"estimation_error_{m}"), None)
                            for m in METRICS}})
    return {
        "tool": "modelwatch",
        "versions": {"modelwatch": version("modelwatch"), "duckdb": version("duckdb"),
                     "numpy": version("numpy"), "scikit-learn": version("scikit-learn"),
                     "source_sha256": dvp._source_digest(Path(modelwatch.__file__).parent),
                     "source": str(Path(modelwatch.__file__).parent)},
        "method": "runner.step_outcome per daily window (DuckDB warehouse, lookback 2, labels of "
                  "the analysis windows absent): isotonic calibration on the reference's cells, "
                  "expected confusion matrix, simulated-label 95 % band",
        "import_s": import_s,
        "rss_after_import_mb": rss_import,
        "warehouse_load_s": load_s,
        # The first daily run also computes (and caches) the reference outcome and calibrator.
        "phases": {"first_run_s": per_run[0], "other_runs_s": sum(per_run[1:])},
        "per_run_s": per_run,
        "mature_run_s": mature_s,
        "direct": direct,
        "windows": windows,
        "mature_check": check,
    }


def _direct_path(data_dir: Path, cfg, windows: list[dict]) -> dict:
    """The estimator without the warehouse: the same functions on NumPy-binned cells.

    Separates the cost of the estimate itself from the run's SQL, label-health rows and writes,
    and checks that the NumPy binning gives the warehouse's estimates.
    """
    import duckdb
    import numpy as np

    from modelwatch.outcome.cells import Cells
    from modelwatch.outcome.estimation import Calibrator, estimated_metrics
    from modelwatch.outcome.intervals import rng_for

    con = duckdb.connect()
    try:
        ref = con.execute(f"SELECT score, y_true FROM read_parquet('{data_dir}/reference.parquet')"
                          ).fetchnumpy()
        ana = con.execute(f"SELECT window_index, score FROM read_parquet('{data_dir}/analysis.parquet')"
                          ).fetchnumpy()
    finally:
        con.close()
    s = cfg.outcome
    t0 = time.perf_counter()
    calibrator = Calibrator.fit(Cells.from_scores(ref["score"], ref["y_true"].astype(float), s))
    t1 = time.perf_counter()
    diffs = []
    for k in range(ANALYSIS_DAYS):
        scores = ana["score"][ana["window_index"] == k]
        cells = Cells.from_scores(scores, np.full(scores.size, np.nan), s)
        start = ANALYSIS_START + timedelta(days=k)
        est = estimated_metrics(cells, calibrator, s, rng_for(s.seed, start.isoformat(), "all",
                                                              "estimated"))
        for m in METRICS:
            if windows[k][m] is not None and est[m].value is not None:
                diffs.append(max(abs(est[m].value - windows[k][m]["value"]),
                                 abs(est[m].low - windows[k][m]["low"]),
                                 abs(est[m].high - windows[k][m]["high"])))
    t2 = time.perf_counter()
    return {"fit_s": t1 - t0, "estimate_s": t2 - t1,
            "max_abs_diff_vs_step_outcome": max(diffs, default=None)}


def _value(rows, check: str) -> float | None:
    return next((r.value for r in rows if r.check_name == check), None)


def _estimates(rows, start: datetime) -> dict:
    """The run's own window's whole-population ``estimated_*`` rows: value, band, status."""
    out = {}
    for m in METRICS:
        row = next((r for r in rows if r.check_name == f"estimated_{m}" and r.slice == "all"
                    and r.details.get("window_start") == start.isoformat()), None)
        out[m] = None if row is None or row.value is None else {
            "value": row.value, "low": row.details.get("ci_low"),
            "high": row.details.get("ci_high"), "status": row.status}
    return out


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------

Z95 = 1.959964


def compare(real: dict, mw: dict, nml: dict, best: list[dict]) -> dict:
    """Per window and metric: realized, both estimates and bands; summary per metric."""
    windows, summary = [], {}
    sigma_range = nml.get("sampling_error_range", 3)
    for k in range(ANALYSIS_DAYS):
        entry = {"window": k, "rows": real["windows"][k]["rows"], "shift": shift_of(k),
                 "positive_rate": real["windows"][k]["positive_rate"]}
        for m in METRICS:
            e_mw, e_n = mw["windows"][k][m], nml["chunks"][k][m]
            entry[m] = {
                "realized": real["windows"][k][m],
                "modelwatch": e_mw and e_mw["value"],
                "modelwatch_band": e_mw and [e_mw["low"], e_mw["high"]],
                "nannyml": e_n["value"],
                "nannyml_band": [e_n["lower_confidence_boundary"], e_n["upper_confidence_boundary"]],
                "nannyml_sampling_error": e_n["sampling_error"],
                "oracle": best[k][m],
            }
        windows.append(entry)

    def inside(v, band) -> bool:
        return band is not None and band[0] is not None and band[0] <= v <= band[1]

    for m in METRICS:
        rows = [w[m] for w in windows if w[m]["modelwatch"] is not None and w[m]["nannyml"] is not None]
        diff = [abs(r["modelwatch"] - r["nannyml"]) for r in rows]
        err_mw = [abs(r["modelwatch"] - r["realized"]) for r in rows]
        err_n = [abs(r["nannyml"] - r["realized"]) for r in rows]
        z_band = [[r["nannyml"] - Z95 * r["nannyml_sampling_error"],
                   r["nannyml"] + Z95 * r["nannyml_sampling_error"]] for r in rows]
        summary[m] = {
            "windows": len(rows),
            "mean_abs_diff": statistics.fmean(diff), "max_abs_diff": max(diff),
            "mae_modelwatch": statistics.fmean(err_mw), "mae_nannyml": statistics.fmean(err_n),
            "max_err_modelwatch": max(err_mw), "max_err_nannyml": max(err_n),
            "bias_modelwatch": statistics.fmean(r["modelwatch"] - r["realized"] for r in rows),
            "bias_nannyml": statistics.fmean(r["nannyml"] - r["realized"] for r in rows),
            "mae_oracle": statistics.fmean(abs(r["oracle"] - r["realized"]) for r in rows),
            "bias_oracle": statistics.fmean(r["oracle"] - r["realized"] for r in rows),
            "calibration_error_modelwatch": statistics.fmean(r["modelwatch"] - r["oracle"]
                                                             for r in rows),
            "calibration_error_nannyml": statistics.fmean(r["nannyml"] - r["oracle"] for r in rows),
            "in_band_modelwatch_oracle": sum(inside(r["oracle"], r["modelwatch_band"]) for r in rows),
            "in_band_modelwatch": sum(inside(r["realized"], r["modelwatch_band"]) for r in rows),
            "in_band_nannyml": sum(inside(r["realized"], r["nannyml_band"]) for r in rows),
            "in_band_nannyml_95": sum(inside(r["realized"], b) for r, b in zip(rows, z_band,
                                                                             strict=True)),
            "band_width_modelwatch": statistics.fmean(r["modelwatch_band"][1] - r["modelwatch_band"][0]
                                                      for r in rows),
            "band_width_nannyml": statistics.fmean(r["nannyml_band"][1] - r["nannyml_band"][0]
                                                   for r in rows),
            "band_width_nannyml_95": statistics.fmean(2 * Z95 * r["nannyml_sampling_error"]
                                                      for r in rows),
            "nannyml_sigma_range": sigma_range,
        }
    return {"windows": windows, "summary": summary, "harness": harness_check(real, mw)}


def harness_check(real: dict, mw: dict) -> dict:
    """modelwatch's own realized values (once labels landed) against scikit-learn's, and its
    estimates in the later run against the daily runs': both must agree for the test to mean
    anything."""
    out = {}
    for m in METRICS:
        pairs = [(c["realized"][m], real["windows"][k][m]) for k, c in enumerate(mw["mature_check"])
                 if c["realized"][m] is not None]
        again = [abs(c["estimated_again"][m] - mw["windows"][k][m]["value"])
                 for k, c in enumerate(mw["mature_check"])
                 if c["estimated_again"][m] is not None and mw["windows"][k][m] is not None]
        within = [c["within_band"][m] for c in mw["mature_check"] if c["within_band"][m] is not None]
        out[m] = {"windows": len(pairs),
                  "max_abs_realized_vs_sklearn": max((abs(a - b) for a, b in pairs), default=None),
                  "max_abs_estimate_change": max(again, default=None),
                  "within_band_rows": f"{sum(within)}/{len(within)}"}
    return out


def _f(v, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _band(b) -> str:
    return "—" if not b or b[0] is None else f"[{b[0]:.3f}, {b[1]:.3f}]"


def markdown(report: dict) -> str:
    """The summary table, the runtime table and one per-window table per metric."""
    cmp_, timing = report["comparison"], report["timing"]
    n = ANALYSIS_DAYS
    out = ["| metric | mean \\|mw − NannyML\\| | max | MAE modelwatch | MAE NannyML "
           "| bias mw / NannyML | realized in mw 95 % band | in NannyML ±3σ band "
           "| in NannyML ±1.96σ | mean band width mw / NannyML ±3σ |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for m, s in cmp_["summary"].items():
        out.append(
            f"| {m} | {s['mean_abs_diff']:.4f} | {s['max_abs_diff']:.4f} | {s['mae_modelwatch']:.4f} "
            f"| {s['mae_nannyml']:.4f} | {s['bias_modelwatch']:+.4f} / {s['bias_nannyml']:+.4f} "
            f"| {s['in_band_modelwatch']}/{s['windows']} | {s['in_band_nannyml']}/{s['windows']} "
            f"| {s['in_band_nannyml_95']}/{s['windows']} "
            f"| {s['band_width_modelwatch']:.3f} / {s['band_width_nannyml']:.3f} |")
    out += ["", "| metric | MAE perfect calibrator (label noise only) | its bias "
            "| mean estimate − perfect calibrator: mw / NannyML |", "|---|---|---|---|"]
    for m, s in cmp_["summary"].items():
        out.append(f"| {m} | {s['mae_oracle']:.4f} | {s['bias_oracle']:+.4f} "
                   f"| {s['calibration_error_modelwatch']:+.4f} / {s['calibration_error_nannyml']:+.4f} |")
    out += ["", "| tool | runs | import (s, not counted) | load (s) | fit (s) | estimate, 20 windows (s) "
            "| total (s) | peak RSS (MB) |", "|---|---|---|---|---|---|---|---|"]
    for tool, t in timing.items():
        out.append(f"| {tool} | {t['runs']} | {t['import_s']:.1f} | {t['load_s']} | {t['fit_s']} "
                   f"| {t['estimate_s']} | {t['total_s']:.2f} | {t['peak_rss_mb']:,.0f} |")
        if "direct" in t:
            d = t["direct"]
            out.append(f"| modelwatch, estimator only (NumPy cells, no warehouse) | {t['runs']} | — "
                       f"| — | {d['fit_s']:.2f} | {d['estimate_s']:.2f} "
                       f"| {d['fit_s'] + d['estimate_s']:.2f} | (same process) |")
    harness = cmp_["harness"]
    out += ["", "| harness check | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|",
            "| modelwatch realized (labels landed) vs scikit-learn, max \\|Δ\\| | "
            + " | ".join(f"{harness[m]['max_abs_realized_vs_sklearn']:.1e}" for m in METRICS) + " |",
            "| modelwatch estimate, later run vs daily run, max \\|Δ\\| | "
            + " | ".join(f"{harness[m]['max_abs_estimate_change']:.1e}" for m in METRICS) + " |",
            "| `estimation_error_*` rows with `within_band` | "
            + " | ".join(harness[m]["within_band_rows"] for m in METRICS) + " |"]
    direct = report["raw"]["modelwatch"]["direct"]["max_abs_diff_vs_step_outcome"]
    out += ["", f"NumPy-binned direct call vs `step_outcome` (value and band), max |Δ|: {direct:.1e}; "
            f"NannyML `needs_calibration`: {report['nannyml_needs_calibration']}; deterministic "
            f"across repeats: {report['deterministic_across_repeats']}."]
    for m in METRICS:
        out += ["", f"**{m}** per window (shift 0 → 1 from window {SHIFT_FROM + 1} of {n})", "",
                "| window | rows | shift | realized | perfect calibrator | modelwatch | mw 95 % band "
                "| NannyML | NannyML ±3σ band |", "|---|---|---|---|---|---|---|---|---|"]
        for w in cmp_["windows"]:
            r = w[m]
            out.append(f"| {w['window'] + 1} | {w['rows']:,} | {w['shift']:.1f} | {_f(r['realized'])} "
                       f"| {_f(r.get('oracle'))} | {_f(r['modelwatch'])} | {_band(r['modelwatch_band'])} "
                       f"| {_f(r['nannyml'])} | {_band(r['nannyml_band'])} |")
    return "\n".join(out)


def _timing(tool: str, runs: list[dvp.ChildRun]) -> dict:
    good = [r.result for r in runs if r.ok]
    med = statistics.median
    if tool == "modelwatch":
        fit = med(g["phases"]["first_run_s"] for g in good)
        est = med(g["phases"]["other_runs_s"] for g in good)
        load = f"({med(g['warehouse_load_s'] for g in good):.2f})"
        return {"runs": len(good), "import_s": med(g["import_s"] for g in good), "load_s": load,
                "fit_s": f"{fit:.2f} (first daily run, incl. its window)",
                "estimate_s": f"{est:.2f} (other 19 daily runs)", "total_s": fit + est,
                "peak_rss_mb": max(r.max_rss_mb for r in runs if r.ok),
                "per_run_median_s": med(med(g["per_run_s"]) for g in good),
                "direct": {k: med(g["direct"][k] for g in good) for k in ("fit_s", "estimate_s")}}
    load = med(g["phases"]["load_s"] for g in good)
    fit = med(g["phases"]["fit_s"] for g in good)
    est = med(g["phases"]["estimate_s"] for g in good)
    return {"runs": len(good), "import_s": med(g["import_s"] for g in good), "load_s": f"{load:.2f}",
            "fit_s": f"{fit:.2f}", "estimate_s": f"{est:.2f}", "total_s": load + fit + est,
            "peak_rss_mb": max(r.max_rss_mb for r in runs if r.ok)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per tool (estimates are "
                        "deterministic; the first run's are compared, the others must match)")
    parser.add_argument("--timeout", type=float, default=600.0, help="kill a run after this long")
    parser.add_argument("--max-busy", type=float, default=0.15,
                        help="before each run wait until at most this share of the CPU is busy")
    parser.add_argument("--patience", type=float, default=20.0,
                        help="longest wait for a quiet machine before one run (seconds)")
    parser.add_argument("--reference-rows", type=int, default=REFERENCE_DAYS * REFERENCE_ROWS_PER_DAY,
                        help="labelled reference rows (over 5 days); fewer makes calibration harder "
                        "(the analysis windows and their seed do not change)")
    parser.add_argument("--work-dir", type=Path, help="data and warehouse (default: a temp dir)")
    parser.add_argument("--reinstall-peers", action="store_true", help="recreate benchmarks/.venv")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="only print the tables of an earlier results file")
    args = parser.parse_args(argv)
    if args.render:
        print(markdown(json.loads(args.render.read_text())))
        return 0

    peer_error = dvp.ensure_peer_venv(args.reinstall_peers)
    if peer_error:
        print(peer_error, file=sys.stderr)
        return 1
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="cbpe_vs_nannyml-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dvp.child_env(work)
    env["PYTHONPATH"] = str(dvp.snapshot_modelwatch(work))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d")
    if args.reference_rows != REFERENCE_DAYS * REFERENCE_ROWS_PER_DAY:
        stamp += f"-ref{args.reference_rows}"
    bench_started = time.perf_counter()
    data_dir = work / "data"
    print(f"writing the workload to {data_dir}", flush=True)
    spec = write_workload(data_dir, args.reference_rows)
    real = realized(data_dir)
    commands = {
        "modelwatch": [sys.executable, str(Path(__file__).resolve()), "_modelwatch", "--data-dir",
                       str(data_dir), "--db", str(work / "warehouse.duckdb")],
        "nannyml": [str(dvp.PEER_PYTHON), str(PEERS / "nannyml_cbpe.py"), "--data-dir",
                    str(data_dir)],
    }
    runs: dict[str, list[dvp.ChildRun]] = {}
    busy_before: dict[str, list[float]] = {}
    for tool, cmd in commands.items():
        runs[tool] = []
        for r in range(args.repeats):
            out = work / f"{tool}_{r}.json"
            busy = dvp.wait_until_quiet(args.max_busy, args.patience)
            run = dvp.run_child([*cmd, "--out", str(out)], out, work / f"{tool}_{r}.log", env,
                                args.timeout)
            runs[tool].append(run)
            busy_before.setdefault(tool, []).append(round(busy, 3))
            status = (f"{run.wall_s:6.1f} s wall, {run.max_rss_mb:6.0f} MB" if run.ok
                      else f"FAILED ({run.error})")
            print(f"   {tool:10s} run {r + 1}: {status} (cpu busy before: {busy:.2f})", flush=True)
            if not run.ok:
                return 1
    first = {tool: rs[0].result for tool, rs in runs.items()}
    same = {tool: all(json.dumps(r.result["windows" if tool == "modelwatch" else "chunks"])
                      == json.dumps(first[tool]["windows" if tool == "modelwatch" else "chunks"])
                      for r in rs) for tool, rs in runs.items()}
    report = {
        "date": stamp, "machine": dvp.machine(), "workload": spec, "realized": real,
        "versions": {tool: res["versions"] for tool, res in first.items()},
        "nannyml_needs_calibration": first["nannyml"]["needs_calibration"],
        "deterministic_across_repeats": same,
        "timing": {tool: _timing(tool, rs) for tool, rs in runs.items()},
        "comparison": compare(real, first["modelwatch"], first["nannyml"], oracle(data_dir)),
        "modelwatch_mature_check": first["modelwatch"]["mature_check"],
        "raw": first,
        "child_wall_s": {tool: [r.wall_s for r in rs] for tool, rs in runs.items()},
        "cpu_busy_before": busy_before,
    }
    report["benchmark_wall_s"] = time.perf_counter() - bench_started
    table = markdown(report)
    (RESULTS / f"cbpe-{stamp}.json").write_text(json.dumps(report, indent=2, default=str))
    (RESULTS / f"cbpe-{stamp}.md").write_text(table + "\n")
    print("\n" + table)
    print(f"\nbenchmark wall time {report['benchmark_wall_s']:.0f} s; raw numbers in "
          f"{RESULTS / ('cbpe-' + stamp + '.json')}")
    return 0


def _child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["_modelwatch"])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    from _common import peak_rss_mb  # benchmarks/peers/_common.py (on sys.path, see __main__)

    result = run_modelwatch(args.data_dir, args.db)
    args.out.write_text(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}, default=str))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        sys.path.insert(0, str(PEERS))
        sys.exit(_child_main(sys.argv[1:]))
    sys.exit(main())
