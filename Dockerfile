# Production image: the official Airflow image plus modelwatch (library + its pinned deps).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 pyproject.toml constraints.txt README.md /opt/modelwatch/
COPY --chown=airflow:0 plugins /opt/modelwatch/plugins
RUN pip install --no-cache-dir -c /opt/modelwatch/constraints.txt "/opt/modelwatch[airflow]"
