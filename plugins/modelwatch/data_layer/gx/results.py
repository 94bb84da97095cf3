"""GX expectation results → ``mw_metric`` rows (pure: plain dicts in, rows out).

- ``check_name`` is the expectation type, ``feature`` its column (``a,b`` for column pairs,
  ``None`` for table expectations).
- ``value``: the unexpected share for column-map expectations (``unexpected_percent`` / 100),
  else the observed value when it is a number (row count, mean, …), else 1.0 for a failure and
  0.0 for a success.
- ``threshold``: the allowed unexpected share (1 - ``mostly``), or the bound the observed value
  crossed, or 1.0.
- ``status``: ``ok`` on success; on failure by severity: ``page`` → ``alert``, ``notify`` →
  ``warn``, ``log`` → ``ok`` with ``details.failed = true`` (recorded, never alerted).
- ``details``: success, severity, origin, the kwargs, the observed value, the unexpected count
  and a bounded sample of unexpected values (``unexpected_sample``), and a message.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from modelwatch.data_layer.gx.suite import ExpectationSpec
from modelwatch.metrics import MetricRow

STATUS_BY_SEVERITY = {"page": "alert", "notify": "warn", "log": "ok"}
MAX_LIST = 50


def jsonable(value, limit: int = MAX_LIST):
    """A JSON-safe copy: Decimal → float, datetimes → ISO text, long lists cut to ``limit``."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        items = list(value)
        return [jsonable(v, limit) for v in items[:limit]] + (
            [f"… {len(items) - limit} more"] if len(items) > limit else [])
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "item"):
        return jsonable(value.item(), limit)
    return str(value)


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def result_row(spec: ExpectationSpec, success: bool, result: dict, sample: int) -> MetricRow:
    """One row for one expectation result (``result`` is GX's ``result`` dict)."""
    kwargs = spec.kwargs
    subject = f"{spec.type} on {spec.target}" if spec.target else spec.type
    observed = result.get("observed_value")
    details = {"success": success, "severity": spec.severity, "origin": spec.origin,
               "kwargs": jsonable(kwargs), "failed": not success}
    if "unexpected_percent" in result and result.get("unexpected_percent") is not None:
        value = float(result["unexpected_percent"]) / 100.0
        mostly = kwargs.get("mostly", 1.0)
        threshold = 1.0 - float(mostly)
        unexpected = jsonable(result.get("partial_unexpected_list") or [], sample)[:sample]
        details.update(unexpected_count=result.get("unexpected_count"),
                       element_count=result.get("element_count"),
                       missing_count=result.get("missing_count"), unexpected_sample=unexpected)
        message = (f"{subject}: {100 * value:.2f}% unexpected (allowed {100 * threshold:.2f}%)"
                   + (f", e.g. {unexpected[:5]}" if unexpected and not success else ""))
    elif _number(observed) is not None:
        value = _number(observed)
        lo, hi = _number(kwargs.get("min_value")), _number(kwargs.get("max_value"))
        threshold = hi if hi is not None and value > hi else lo if lo is not None and value < lo else (
            hi if hi is not None else lo if lo is not None else 1.0)
        details["observed_value"] = value
        bounds = f" (expected {lo if lo is not None else '-inf'} .. {hi if hi is not None else 'inf'})"
        message = f"{subject}: observed {value:g}" + (bounds if lo is not None or hi is not None else "")
    else:
        value, threshold = (0.0 if success else 1.0), 1.0
        if observed is not None:
            details["observed_value"] = jsonable(observed)
        message = f"{subject}: {'met' if success else 'not met'}" + (
            f" (observed {jsonable(observed)})" if observed is not None else "")
    details["message"] = message + ("" if success else f" — severity {spec.severity}")
    status = "ok" if success else STATUS_BY_SEVERITY[spec.severity]
    return MetricRow("data", spec.type, spec.target, value, threshold, status, details)
