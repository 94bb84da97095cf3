"""modelwatch: ML model monitoring whose core runs anywhere and whose schedule runs in Airflow.

The core (config, warehouse, checks, stats, runner) imports no Airflow so it can be tested and
called from the CLI on its own; ``modelwatch.airflow`` renders it into DAGs.
"""

__version__ = "0.1.0"
