"""The output tables modelwatch owns. Created idempotently; their columns are a public contract."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

mw_metric = sa.Table(
    "mw_metric",
    metadata,
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("model_version", sa.String(128)),
    sa.Column("window_start", sa.DateTime, nullable=False),
    sa.Column("window_end", sa.DateTime, nullable=False),
    sa.Column("layer", sa.String(16), nullable=False),
    sa.Column("check_name", sa.String(128), nullable=False),
    sa.Column("feature", sa.String(128)),
    sa.Column("slice", sa.String(256), nullable=False),
    sa.Column("value", sa.Double),
    sa.Column("threshold", sa.Double),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("details", sa.JSON),
    sa.Column("computed_at", sa.DateTime, nullable=False),
    sa.Index("ix_mw_metric_key", "model_name", "window_start", "window_end", "layer", "check_name"),
)

# Rows a window's steps computed and have not published yet (``warehouse/writer``): each step of
# a run stages its rows here, and ``publish_window`` moves all of them into ``mw_metric`` in one
# transaction, so a reader sees a window's previous rows or all of the new ones, never a mix.
mw_metric_staged = sa.Table(
    "mw_metric_staged",
    metadata,
    *(sa.Column(c.name, c.type, nullable=c.nullable) for c in mw_metric.columns),
    sa.Column("run_window_start", sa.DateTime, nullable=False),  # the run this row waits for
    sa.Column("run_window_end", sa.DateTime, nullable=False),
    sa.Column("step", sa.String(32), nullable=False),
    # a LIKE pattern of check names the write owns whole in its (window, layer), e.g. expect\_%
    sa.Column("replace_like", sa.String(128)),
    sa.Index("ix_mw_metric_staged_run", "model_name", "run_window_start", "run_window_end"),
)

mw_alert = sa.Table(
    "mw_alert",
    metadata,
    sa.Column("alert_id", sa.String(64), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("layer", sa.String(16), nullable=False),
    sa.Column("title", sa.String(512), nullable=False),
    sa.Column("summary", sa.Text),
    sa.Column("owner", sa.String(128)),
    sa.Column("channel", sa.String(128)),
    sa.Column("window_start", sa.DateTime, nullable=False),
    sa.Column("window_end", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("first_seen", sa.DateTime, nullable=False),
    sa.Column("last_seen", sa.DateTime, nullable=False),
    sa.Column("delivered_at", sa.DateTime),
    sa.Column("delivery_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("acked_by", sa.String(128)),
    sa.Column("ack_note", sa.Text),
    # where the message that announced the episode is, so later windows update it in place
    sa.Column("slack_channel_id", sa.String(64)),
    sa.Column("slack_ts", sa.String(64)),
    # a post whose answer never came (timeout, killed run): the key its Slack metadata carries and
    # when it was sent, looked up in the channel before anything is sent again (reconcile.py)
    sa.Column("claim_key", sa.String(40)),
    sa.Column("claimed_at", sa.DateTime),
)

# Slack messages that announced alerts, kept so later windows can edit them in place
# (chat.update): "still open in window …", "resolved in window …" (alerting/updates.py).
mw_slack_message = sa.Table(
    "mw_slack_message",
    metadata,
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("ts", sa.String(64), nullable=False),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("channel", sa.String(128)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("blocks", sa.JSON),
    sa.Column("updates", sa.JSON),  # fingerprint -> the latest status line shown
    sa.Column("posted_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime),
    sa.PrimaryKeyConstraint("channel_id", "ts"),
)

# The weekly alert review: per model, alert family ("rule") and owner, how many alert episodes
# were open in the week (started in it or before) and how many were acknowledged or acted on
# (alerting/review.py).
mw_alert_review = sa.Table(
    "mw_alert_review",
    metadata,
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("week_start", sa.DateTime, nullable=False),
    sa.Column("week_end", sa.DateTime, nullable=False),
    sa.Column("family", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("channel", sa.String(128)),
    sa.Column("alerts", sa.Integer, nullable=False),
    sa.Column("acked", sa.Integer, nullable=False),
    sa.Column("actioned", sa.Integer, nullable=False),
    sa.Column("action_rate", sa.Float),
    sa.Column("carried", sa.Integer),  # of the alerts, episodes open since before the week
    sa.Column("suggestion", sa.Text),
    sa.Column("reviewed_at", sa.DateTime, nullable=False),
    sa.Column("posted_at", sa.DateTime),
    sa.PrimaryKeyConstraint("model_name", "week_start", "family", "owner"),
)

mw_decision = sa.Table(
    "mw_decision",
    metadata,
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("window_start", sa.DateTime, nullable=False),
    sa.Column("window_end", sa.DateTime, nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("rule", sa.String(128)),
    sa.Column("signals", sa.JSON),
    sa.Column("decided_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("model_name", "window_start", "window_end"),
)

mw_reference_profile = sa.Table(
    "mw_reference_profile",
    metadata,
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("profile_key", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(128)),
    sa.Column("reference", sa.JSON, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("sample", sa.JSON),  # reference sample for exact KS, read only when needed
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("model_name", "profile_key"),
)

mw_model_registry = sa.Table(
    "mw_model_registry",
    metadata,
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("alias", sa.String(32)),
    sa.Column("artifact_uri", sa.String(1024)),
    sa.Column("registered_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("model_name", "version"),
)

mw_registry_event = sa.Table(
    "mw_registry_event",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("from_alias", sa.String(32)),
    sa.Column("to_alias", sa.String(32)),
    sa.Column("reason", sa.Text),
    sa.Column("event_at", sa.DateTime, nullable=False),
    sa.Column("window_start", sa.DateTime),  # the monitored window behind the event, if any
    sa.Column("notified_at", sa.DateTime),  # when the model owner was told (rollback, promote)
)


def create_output_tables(engine: Engine) -> None:
    """Create the ``mw_*`` tables if missing, and add nullable columns that a warehouse created by
    an older modelwatch lacks (safe to call on every run)."""
    metadata.create_all(engine, checkfirst=True)
    preparer = engine.dialect.identifier_preparer
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            # an empty SELECT, not the inspector: duckdb-engine's inspector queries pg_catalog
            present = set(conn.execute(sa.text(
                f"SELECT * FROM {preparer.quote(table.name)} WHERE 1 = 0")).keys())
            for column in (c for c in table.columns if c.name not in present and c.nullable):
                conn.execute(sa.text(
                    f"ALTER TABLE {preparer.quote(table.name)} ADD COLUMN "
                    f"{preparer.quote(column.name)} {column.type.compile(dialect=engine.dialect)}"))
