"""NannyML's CBPE on the performance-estimation workload (runs in benchmarks/.venv).

    benchmarks/.venv/bin/python benchmarks/peers/nannyml_cbpe.py --data-dir D --out R

Fits ``nannyml.CBPE`` (binary classification, default isotonic calibration, default thresholds)
on ``reference.parquet`` (with labels) and estimates on ``analysis.parquet`` *without* its label
column, one chunk per calendar day (``chunk_period="D"`` on the event timestamp), which is exactly
one chunk per monitored window. Per chunk and metric it writes NannyML's estimate, its sampling
error and its confidence band (estimate ± 3 sampling errors, clipped to [0, 1]), as NannyML
reports them.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from _common import Clock, read_workload, rss_now_mb, write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder with workload.json")
    parser.add_argument("--out", type=Path, required=True, help="where to write the result JSON")
    args = parser.parse_args()
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # before the import: no telemetry
    spec = read_workload(args.data_dir)
    started = time.perf_counter()
    from importlib.metadata import version

    import nannyml as nml
    import pandas as pd
    from nannyml.sampling_error import SAMPLING_ERROR_RANGE

    import_s = time.perf_counter() - started
    rss_import = rss_now_mb()
    metrics = spec["metrics"]
    clock = Clock()
    with clock("load_s"):
        reference = pd.read_parquet(args.data_dir / spec["files"]["reference"],
                                    columns=["event_ts", "score", "y_pred", "y_true"])
        # The analysis period is read without its labels: the estimate must not see them.
        analysis = pd.read_parquet(args.data_dir / spec["files"]["analysis"],
                                   columns=["event_ts", "score", "y_pred"])
    with clock("fit_s"):
        estimator = nml.CBPE(
            y_pred_proba="score", y_pred="y_pred", y_true="y_true",
            problem_type="classification_binary", metrics=metrics,
            timestamp_column_name="event_ts", chunk_period="D")
        estimator.fit(reference)
    with clock("estimate_s"):
        frame = estimator.estimate(analysis).filter(period="analysis").to_df()

    chunks = []
    for i in range(len(frame)):
        row = frame.iloc[i]
        entry = {"start": str(row[("chunk", "start_date")]), "rows": int(
            row[("chunk", "end_index")] - row[("chunk", "start_index")] + 1)}
        for metric in metrics:
            entry[metric] = {
                key: (None if pd.isna(row[(metric, key)]) else float(row[(metric, key)]))
                for key in ("value", "sampling_error", "lower_confidence_boundary",
                            "upper_confidence_boundary", "lower_threshold", "upper_threshold")}
            entry[metric]["alert"] = bool(row[(metric, "alert")])
        chunks.append(entry)
    write_result(args.out, {
        "tool": "nannyml",
        "versions": {"nannyml": version("nannyml"), "pandas": version("pandas"),
                     "numpy": version("numpy"), "scikit-learn": version("scikit-learn")},
        "method": "CBPE, classification_binary, calibration='isotonic' (applied only if "
                  "needs_calibration says it helps on the reference), chunk_period='D'",
        "needs_calibration": bool(estimator.needs_calibration),
        "sampling_error_range": SAMPLING_ERROR_RANGE,
        "import_s": import_s,
        "rss_after_import_mb": rss_import,
        "phases": clock.phases,
        "chunks": chunks,
    })


if __name__ == "__main__":
    main()
