"""NannyML's UnivariateDriftCalculator on the benchmark workload (runs in benchmarks/.venv).

    benchmarks/.venv/bin/python benchmarks/peers/nannyml_drift.py --data-dir D --variant drift --out R
    ... --chunks 10     # NannyML's own default chunking instead of one chunk per window

Default methods (Jensen-Shannon for continuous and categorical columns) and default thresholds.
NannyML derives a threshold from the spread of the method's value over the *reference chunks*
(mean + 3 standard deviations). With ``--chunks 1`` (the benchmark's "fit on reference, calculate
on current as one chunk") the reference is one chunk, the spread is zero and the threshold
collapses onto the reference's own value, so nearly any difference alerts. ``--chunks 10`` splits
reference and current into 10 chunks each (NannyML's DefaultChunker); a column counts as flagged
when any current chunk alerts. ``flagged_at_0_1`` applies the constant 0.1 the method's
docstring mentions to the same values, for comparison.
"""

from __future__ import annotations

import os
import time

from _common import Clock, read_workload, rss_now_mb, worker_args, write_result


def main() -> None:
    args = worker_args(__doc__.split("\n")[0], {
        "--chunks": {"type": int, "default": 1, "help": "chunks per window (1 = whole window)"}})
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # before the import: no telemetry
    spec = read_workload(args.data_dir)
    started = time.perf_counter()
    from importlib.metadata import version

    import nannyml as nml
    import pandas as pd

    import_s = time.perf_counter() - started
    rss_import = rss_now_mb()
    columns = spec["numeric"] + spec["categorical"]
    clock = Clock()
    with clock("load_s"):
        reference = pd.read_parquet(args.data_dir / spec["files"]["reference"], columns=columns)
        current = pd.read_parquet(args.data_dir / spec["files"][args.variant], columns=columns)
    chunking = ({"chunk_size": len(reference)} if args.chunks == 1
                else {"chunk_number": args.chunks})
    with clock("fit_s"):
        calc = nml.UnivariateDriftCalculator(
            column_names=columns, treat_as_numerical=spec["numeric"],
            treat_as_categorical=spec["categorical"], **chunking)
        calc.fit(reference)
    with clock("window_s"):
        frame = calc.calculate(current).filter(period="analysis").to_df()

    flagged, at_constant, scores = [], [], {}
    for column in columns:
        methods = {m for (c, m, _) in frame.columns if c == column}
        for method in sorted(methods):
            values = frame[(column, method, "value")].astype(float)
            alerts = frame[(column, method, "alert")].astype(bool)
            scores[column] = {"method": method, "value_max": float(values.max()),
                              "upper_threshold": frame[(column, method, "upper_threshold")].iloc[0],
                              "chunks_alerting": int(alerts.sum()), "chunks": len(alerts)}
            if alerts.any():
                flagged.append(column)
            if (values > 0.1).any():
                at_constant.append(column)
    write_result(args.out, {
        "tool": "nannyml" if args.chunks == 1 else f"nannyml-{args.chunks}chunks",
        "versions": {"nannyml": version("nannyml"), "pandas": version("pandas"),
                     "numpy": version("numpy"), "scipy": version("scipy")},
        "method": "UnivariateDriftCalculator defaults: jensen_shannon, StandardDeviationThreshold "
                  f"(mean + 3 sd of reference chunks), {args.chunks} chunk(s) per window",
        "import_s": import_s,
        "rss_after_import_mb": rss_import,
        "phases": clock.phases,
        "flagged": sorted(set(flagged)),
        "flagged_at_0_1": sorted(set(at_constant)),
        "scores": scores,
    })


if __name__ == "__main__":
    main()
