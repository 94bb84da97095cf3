"""The seasonal history query on a real PostgreSQL warehouse (same assertions as the unit test)."""

from __future__ import annotations

import pytest

from tests.unit.test_seasonal_threshold import check_history_query

pytestmark = pytest.mark.postgres


def test_history_query_on_postgres(pg_url) -> None:
    from modelwatch.warehouse.engine import engine_for_url

    check_history_query(engine_for_url(pg_url))
