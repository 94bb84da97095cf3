"""What the labels table's label column holds, checked before a layer reads it.

``warehouse/source.label_value`` turns a label into the number (or, for multiclass, the text) the
layers compare; which expression is right depends on the column's type — PostgreSQL cannot cast
a BOOLEAN to DOUBLE, and text labels need a configured positive class. ``label_kind`` reads the
type from the catalog and, for a binary model with text labels, makes sure every value is one of
the configured classes: an unknown value would otherwise be silently unlabelled (outcome) or
stop the shadow layer with a bare "labels must be 0/1".
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ContractError
from modelwatch.warehouse.catalog import live_columns
from modelwatch.warehouse.contract import type_family
from modelwatch.warehouse.source import labels_ref

SHOWN = 5  # values named in an error


def label_kind(conn: Connection, cfg: MonitorConfig) -> str:
    """The label column's type family (``warehouse/contract.type_family``), for ``label_value``.

    Raises:
        ContractError: a binary model's labels are text or ENUM without ``labels.positive``, or
            hold values outside ``labels.positive``/``labels.negative`` (named, with the fix).
    """
    table, column = cfg.tables.labels, cfg.columns.label
    live = live_columns(conn, table) or {}
    kind = type_family(live[column]) if column in live else "numeric"  # the contract names it
    if cfg.model.task != "binary" or kind == "boolean":
        return kind
    spec = cfg.labels
    if spec.positive is None and kind not in ("text", "enum"):
        return kind
    text = sa.cast(labels_ref(cfg).c[column], sa.String)
    query = sa.select(text).where(text.is_not(None)).distinct().order_by(text).limit(SHOWN + 1)
    if spec.positive is not None:
        query = query.where(text.not_in([spec.positive, *spec.negative]))
    found = [str(v) for v in conn.execute(query).scalars()]
    if not found:
        return kind
    shown = ", ".join(repr(v) for v in found[:SHOWN]) + (", ..." if len(found) > SHOWN else "")
    if spec.positive is None:
        raise ContractError(
            f"{table}.{column} (columns.label) holds text labels ({shown}), but a binary model "
            "needs to know which one is the positive class. Fix: set labels.positive to it and "
            "labels.negative to the others, e.g. `labels: {positive: fraud, negative: [legit]}`")
    raise ContractError(
        f"{table}.{column} (columns.label) holds {shown}, which is neither labels.positive "
        f"({spec.positive!r}) nor in labels.negative ({spec.negative}). Fix: add the value(s) to "
        "labels.negative (or make one labels.positive), or clean the labels table")
