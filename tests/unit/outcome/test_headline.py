"""Every kind of model has a headline metric, and it is one the outcome layer really stores."""

from __future__ import annotations

import typing

from modelwatch.config.schema import ModelSpec
from modelwatch.outcome import binary, multiclass, ranking_task, regression
from modelwatch.outcome.headline import HEADLINES, headline_of
from modelwatch.outcome.tasks import TASKS

STORED = {"binary": binary.REALIZED, "multiclass": multiclass.REALIZED,
          "regression": regression.REALIZED, "ranking": ranking_task.REALIZED}


def test_every_task_has_a_stored_headline() -> None:
    tasks = typing.get_args(ModelSpec.model_fields["task"].annotation)
    assert set(HEADLINES) == set(tasks) == set(TASKS)
    for task, headline in HEADLINES.items():
        assert headline.realized in STORED[task]
        assert headline.realized in TASKS[task].headline or task == "binary"
    assert headline_of("binary").estimated == "estimated_roc_auc"
    assert all(h.estimated is None for t, h in HEADLINES.items() if t != "binary")
