"""Evidently's DataDriftPreset on the benchmark workload (runs in benchmarks/.venv).

    benchmarks/.venv/bin/python benchmarks/peers/evidently_drift.py --data-dir D --variant drift --out R

Reads the reference and current Parquet files into pandas, declares the column types (so integer
counts are not guessed as categorical), runs ``Report([DataDriftPreset()])`` with its defaults
(above 1,000 rows: normed Wasserstein for numeric, Jensen-Shannon for categorical, threshold 0.1)
and counts the columns whose drift test fails. Evidently has no separate fit: every report reads
and summarizes the reference again, so ``fit_s`` holds only building the reference Dataset.
"""

from __future__ import annotations

import time

from _common import Clock, read_workload, rss_now_mb, worker_args, write_result


def main() -> None:
    args = worker_args(__doc__.split("\n")[0])
    spec = read_workload(args.data_dir)
    started = time.perf_counter()
    from importlib.metadata import version

    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    import_s = time.perf_counter() - started
    rss_import = rss_now_mb()
    columns = spec["numeric"] + spec["categorical"]
    definition = DataDefinition(numerical_columns=spec["numeric"],
                                categorical_columns=spec["categorical"])
    clock = Clock()
    with clock("load_s"):
        reference = pd.read_parquet(args.data_dir / spec["files"]["reference"], columns=columns)
        current = pd.read_parquet(args.data_dir / spec["files"][args.variant], columns=columns)
    with clock("fit_s"):
        reference_ds = Dataset.from_pandas(reference, data_definition=definition)
    with clock("window_s"):
        current_ds = Dataset.from_pandas(current, data_definition=definition)
        snapshot = Report([DataDriftPreset()], include_tests=True).run(current_ds, reference_ds)
        result = snapshot.dict()

    scores, failed = {}, set()
    for metric in result["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            scores[config["column"]] = {"value": metric["value"], "method": config.get("method"),
                                        "threshold": config.get("threshold")}
    for test in result.get("tests", []):
        name = test.get("name", "")
        if name.startswith("Value Drift for column ") and test.get("status") == "FAIL":
            failed.add(name.removeprefix("Value Drift for column "))
    flag_source = "Evidently's per-column drift tests"
    if not result.get("tests"):  # no test results: apply the distance rule Evidently uses
        failed = {c for c, s in scores.items() if s["value"] >= s["threshold"]}
        flag_source = "value >= threshold (no test results in the snapshot)"
    dataset_level = next((m["value"] for m in result["metrics"]
                          if m["config"].get("type", "").endswith("DriftedColumnsCount")), None)
    write_result(args.out, {
        "tool": "evidently",
        "versions": {"evidently": version("evidently"), "pandas": version("pandas"),
                     "numpy": version("numpy"), "scipy": version("scipy")},
        "method": "DataDriftPreset defaults: " + ", ".join(sorted(
            {f"{s['method']} (threshold {s['threshold']})" for s in scores.values()})),
        "import_s": import_s,
        "rss_after_import_mb": rss_import,
        "phases": clock.phases,
        "flagged": sorted(failed),
        "flag_source": flag_source,
        "dataset_drift": dataset_level,
        "scores": scores,
    })


if __name__ == "__main__":
    main()
