"""Great Expectations 1.x, run as a Checkpoint on the window through a SQL data source.

- ``suite``: the expectation suite generated from the reference profile, merged with the
  monitor's own expectations (pure, no GX import);
- ``checkpoint``: builds an ephemeral GX context, a SQL data source on the warehouse, a query
  asset of the window, and runs the Checkpoint (GX computes every metric in the warehouse);
- ``results``: each expectation result becomes a ``mw_metric`` row (pure);
- ``dialect``: the DuckDB dialect fix that lets GX's SQL engine read DuckDB results.

GX is imported only inside ``checkpoint.run_checkpoint``: the rest of modelwatch, and the DAG
files, never pay its import time.
"""
