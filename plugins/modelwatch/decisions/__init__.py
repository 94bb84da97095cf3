"""Multi-signal decisions: which one of retrain, rollback, promote, alert_only or healthy a window
leads to, from the metrics every layer stored (see ``engine``)."""

from modelwatch.decisions.engine import ACTIONS, Decision, decide, default_rules, evaluate

__all__ = ["ACTIONS", "Decision", "decide", "default_rules", "evaluate"]
