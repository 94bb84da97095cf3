"""docs/config.md is generated from the schema; it must be current and cover every key."""

from __future__ import annotations

from modelwatch.config.docs import _models, render
from modelwatch.config.schema import MonitorConfig
from tests.conftest import PROJECT


def test_config_reference_is_up_to_date() -> None:
    committed = (PROJECT / "docs" / "config.md").read_text()
    assert committed == render(), "regenerate: python -m modelwatch.config.docs > docs/config.md"


def test_every_key_has_a_description() -> None:
    missing = [f"{m.__name__}.{name}" for m in _models(MonitorConfig)
               for name, field in m.model_fields.items() if not field.description]
    assert missing == []
