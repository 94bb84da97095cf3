"""Shadow deployment and champion/challenger comparison (layer ``shadow`` in ``mw_metric``).

A challenger scores the same live traffic as the served champion, logged to
``tables.shadow_predictions`` and not served. ``run_shadow`` compares the two on the same
requests each window — agreement, service, and, as labels mature, paired quality — and evaluates
the promotion gate configured in ``shadow.gate``; ``shadow_table`` renders the rows for a task
log. See docs/shadow.md.
"""

from modelwatch.shadow.run import run_shadow
from modelwatch.shadow.table import shadow_table

__all__ = ["run_shadow", "shadow_table"]
