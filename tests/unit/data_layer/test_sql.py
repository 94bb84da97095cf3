"""SQL helpers: non-finite detection and the feature-vector hash (order-stable, documented)."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from modelwatch.data_layer.sql import canonical_text, is_finite, is_non_finite, vector_hash
from modelwatch.warehouse.catalog import live_columns


def test_non_finite_and_finite(duck) -> None:
    with duck.begin() as conn:
        conn.execute(sa.text("CREATE TABLE v (i INTEGER, x DOUBLE)"))
        conn.execute(sa.text("INSERT INTO v VALUES (1, 1.5), (2, CAST('NaN' AS DOUBLE)), "
                             "(3, CAST('Infinity' AS DOUBLE)), (4, CAST('-Infinity' AS DOUBLE)), (5, NULL)"))
        t = sa.table("v", sa.column("i"), sa.column("x"))
        got = conn.execute(sa.select(is_non_finite(t.c.x), is_finite(t.c.x)).order_by(t.c.i)).all()
    assert got == [(False, True), (True, False), (True, False), (True, False), (None, None)]


def test_vector_hash_is_order_stable_and_reproducible_by_hand(duck) -> None:
    t = sa.select(sa.literal(1.0).label("b"), sa.literal("x").label("a"),
                  sa.literal(None, sa.Double).label("c")).subquery()
    cols = [("b", t.c.b, "numeric"), ("a", t.c.a, "categorical"), ("c", t.c.c, "numeric")]
    with duck.connect() as conn:
        one = conn.execute(sa.select(vector_hash(cols))).scalar_one()
        two = conn.execute(sa.select(vector_hash(list(reversed(cols))))).scalar_one()
        text = conn.execute(sa.select(canonical_text(t.c.b, "numeric"))).scalar_one()
    assert one == two
    assert text == "1000000"
    assert one == hashlib.md5(b"a=x|b=1000000|c=\\N").hexdigest()


def test_live_columns_reads_types_and_tells_a_missing_table(duck) -> None:
    with duck.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (a DOUBLE, b VARCHAR)"))
        assert live_columns(conn, "t") == {"a": "DOUBLE", "b": "VARCHAR"}
        assert live_columns(conn, "nope") is None
