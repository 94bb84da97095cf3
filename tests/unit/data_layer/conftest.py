from __future__ import annotations

import pytest
import sqlalchemy as sa


@pytest.fixture
def duck(tmp_path):
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    yield engine
    engine.dispose()
