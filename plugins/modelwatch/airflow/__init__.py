"""The Airflow edge: the only subpackage that imports Airflow.

It renders the Airflow-free core (config, runner steps) into DAGs and tasks, maps modelwatch's
terminal errors onto ``AirflowFailException`` and resolves warehouse connections through the
Task SDK.
"""
