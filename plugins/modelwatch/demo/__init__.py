"""The demo: a seeded fraud scenario with known incidents, monitored through real Airflow."""
