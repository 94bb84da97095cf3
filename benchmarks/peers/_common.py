"""Helpers shared by the benchmark's worker scripts (imported from both venvs: stdlib only)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def rss_now_mb() -> float:
    """Resident set size of this process right now, in MB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (``VmHWM``).

    Not ``ru_maxrss`` from ``wait4``: Linux carries a process's ``maxrss`` over ``fork`` and
    ``execve``, so every child of a parent that once held 870 MB reports at least 870 MB. ``VmHWM``
    belongs to the address space, which ``execve`` replaces, so it is the child's own peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker_args(description: str, extra: dict[str, dict] | None = None) -> argparse.Namespace:
    """The arguments every peer worker takes: the workload folder, the variant, the output file."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", type=Path, required=True, help="folder with workload.json")
    parser.add_argument("--variant", choices=["nodrift", "drift"], required=True)
    parser.add_argument("--out", type=Path, required=True, help="where to write the result JSON")
    for flag, options in (extra or {}).items():
        parser.add_argument(flag, **options)
    return parser.parse_args()


def read_workload(data_dir: Path) -> dict:
    return json.loads((data_dir / "workload.json").read_text())


class Clock:
    """Named wall-time phases: ``with clock("fit_s"): ...``."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    def __call__(self, name: str) -> Clock:
        self._name = name
        return self

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.phases[self._name] = self.phases.get(self._name, 0.0) + time.perf_counter() - self._started


def write_result(path: Path, result: dict) -> None:
    """Write the worker's result, with its own peak RSS (``peak_rss_mb``) measured last."""
    path.write_text(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}, default=float))
