"""The one performance metric a model is judged by at a glance, per kind of model.

The UI charts it, the run report plots it, and the default retrain rule reads it — so a
regression or ranking model is watched on its own metric, not on a ROC AUC it never has. Each
name is a check the outcome layer stores (see ``outcome.tasks``); ``estimated`` is the check of
its estimate before labels, which only binary models get (confidence-based estimation).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Headline:
    realized: str
    label: str
    estimated: str | None = None


HEADLINES = {
    "binary": Headline("roc_auc", "ROC AUC", "estimated_roc_auc"),
    "multiclass": Headline("macro_f1", "macro F1"),
    "regression": Headline("mae", "MAE"),
    "ranking": Headline("ndcg_at_k", "NDCG@k"),
}


def headline_of(task: str) -> Headline:
    """The headline metric of ``model.task`` (binary's for a task not listed)."""
    return HEADLINES.get(task, HEADLINES["binary"])
