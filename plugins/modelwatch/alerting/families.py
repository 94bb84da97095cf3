"""Alert families: what kind of root cause a metric row points at, and its runbook.

A family is the unit of grouping. Every ``mw_metric`` row in ``warn`` or ``alert`` belongs to
exactly one family, decided by its layer and check name alone; the drift methods and change-point
detectors are read from their registries, so a new method lands in the right family without a
change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Family:
    """One kind of root cause.

    Attributes:
        name: Stable key, part of every alert fingerprint: never rename one.
        label: How titles start (``"<label>: <subject> …"``), so a stored alert's family can be
            read back from its title.
        runbook: File name in ``include/runbooks/``, or None when there is none yet.
    """

    name: str
    label: str
    runbook: str | None


_ALL = (
    Family("pipeline", "data pipeline degraded", "data_quality.md"),
    Family("data_quality", "data quality", "data_quality.md"),
    # Drift on a large share of the features with no data-quality evidence: the population
    # changed (or its mix did) — titled as drift, never as a broken pipeline.
    Family("broad_drift", "data drift on many features", "feature_drift.md"),
    Family("feature_drift", "feature drift", "feature_drift.md"),
    Family("score_drift", "score drift", "score_drift.md"),
    Family("model_behaviour", "model behaviour", "score_drift.md"),
    Family("shadow", "challenger in shadow", None),
    Family("labels", "labels", None),
    Family("performance", "model performance", None),
    # Realized performance of one slice, found when its windows' labels matured (``findings``).
    Family("realized_performance", "realized performance", None),
    # A business KPI (proxy metric) outside its own historical noise: outcome owner's call.
    Family("business_kpi", "business KPI", "business_kpi.md"),
    Family("system", "infrastructure", None),
    # Incidents of the monitoring runs themselves, recorded by the Airflow callbacks.
    Family("task_failure", "monitoring task failed", "run_failure.md"),
    Family("run_failure", "monitoring run failed", "run_failure.md"),
    Family("run_deadline", "monitoring run late", "run_failure.md"),
)
FAMILIES: dict[str, Family] = {f.name: f for f in _ALL}


def _drift_checks() -> set[str]:
    from modelwatch.drift.changepoint import DETECTORS
    from modelwatch.drift.methods import method_names

    methods = set(method_names())
    return methods | {f"{m}_{d}" for m in methods for d in DETECTORS}


def is_drift_check(check: str) -> bool:
    """A drift method (``psi``) or a change-point detector on a drift series (``psi_cusum``)."""
    return check in _drift_checks()


def classify(layer: str, check: str) -> str:
    """The family name of a metric row of ``layer`` and ``check``."""
    if layer == "data":
        return "feature_drift" if is_drift_check(check) else "data_quality"
    if layer == "model":
        if check.startswith(("score_", "prediction_")):
            return "score_drift"
        return "model_behaviour"
    if layer == "shadow":
        return "shadow"
    if layer == "outcome":
        if check.startswith("kpi"):  # ``kpi`` (judged), ``kpi_correlation`` (informative)
            return "business_kpi"
        if check.startswith("label_"):
            return "labels"
        from modelwatch.alerting.findings import is_realized_check

        return "realized_performance" if is_realized_check(check) else "performance"
    return "system"


def family_of_title(title: str) -> Family | None:
    """Read a stored alert's family back from its title (longest label first)."""
    for family in sorted(_ALL, key=lambda f: -len(f.label)):
        if title.startswith(f"{family.label}:"):
            return family
    return None


def runbook_path(family: Family | None, runbooks_dir: Path) -> Path | None:
    """The family's runbook file if it exists (a missing file is reported as no runbook)."""
    if family is None or family.runbook is None:
        return None
    path = runbooks_dir / family.runbook
    return path if path.is_file() else None
