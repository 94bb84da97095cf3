"""One monitoring DAG per model config in include/monitors/ (see modelwatch.airflow.dag_factory)."""

from modelwatch.airflow.dag_factory import register_monitor_dags

register_monitor_dags(globals())
