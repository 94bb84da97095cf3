"""DAG parse time for N generated monitors (the dag-processor's cost per parse of dags/).

    .venv/bin/python benchmarks/dag_parse_time.py [N ...]

Writes a row per N to stdout in Markdown; docs/benchmarks.md holds the recorded results.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
CHILD = """
import time, sys
started = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
imported = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
done = time.perf_counter()
assert not bag.import_errors, bag.import_errors
print("RESULT", len(bag.dag_ids), imported - started, done - imported)
"""


def write_monitors(folder: Path, n: int) -> None:
    raw = yaml.safe_load((PROJECT / "include/monitors/fraud_demo.yaml").read_text())
    for i in range(n):
        raw["model"]["name"] = f"model_{i:03d}"
        (folder / f"m{i:03d}.yaml").write_text(yaml.safe_dump(raw))


def measure(n: int, repeats: int = 3) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_monitors(folder, n)
        env = {**os.environ, "MODELWATCH_MONITORS_DIR": str(folder),
               "AIRFLOW_HOME": str(folder / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        parse, imports = [], []
        for _ in range(repeats):
            out = subprocess.run([sys.executable, "-c", CHILD, str(PROJECT / "dags")], env=env,
                                 capture_output=True, text=True, check=True).stdout
            out = next(x for x in out.splitlines() if x.startswith("RESULT")).split()[1:]
            assert int(out[0]) == n, out
            imports.append(float(out[1]))
            parse.append(float(out[2]))
    return statistics.median(imports), statistics.median(parse)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1, 50, 200]
    print(f"DAG parse time, median of 3, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores\n")
    print("| monitors | parse of dags/ (s) | per monitor (ms) | Airflow import (s, not included) |")
    print("|---|---|---|---|")
    for n in sizes:
        imp, parse = measure(n)
        print(f"| {n} | {parse:.3f} | {1000 * parse / n:.1f} | {imp:.2f} |")


if __name__ == "__main__":
    main()
