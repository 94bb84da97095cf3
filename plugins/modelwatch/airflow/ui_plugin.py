"""The Airflow UI plugin: a "Model monitoring" nav page, a Monitoring tab on every monitor DAG and
on each of its runs, served by a FastAPI app mounted in the API server at ``/modelwatch``.

Airflow does not put plugin routes behind its auth manager, so every route here depends on
Airflow's own ``requires_access_dag("GET")`` (or, for the overview, an authenticated user): an
anonymous request gets 401/403, and the UI's iframe is let in by the ``_token`` cookie the login
set. The pages themselves are built by ``modelwatch.ui.handlers`` (no Airflow there).
Registered through the ``airflow.plugins`` entry point in pyproject.toml.
"""

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/modelwatch"


def warehouse_connection_url(conn_id: str) -> str:
    """Resolve ``warehouse.conn_id`` in the API server (secrets backends, env, metadata DB)."""
    from airflow.models.connection import Connection

    conn = Connection.get_connection_from_secrets(conn_id)
    extra_url = (conn.extra_dejson or {}).get("sqlalchemy_url")
    return extra_url or conn.get_uri()


def create_app():
    """The plugin's FastAPI app (built when the API server loads plugins, never at DAG parse)."""
    from airflow.api_fastapi.core_api.security import get_user, requires_access_dag
    from fastapi import Depends, FastAPI, Request
    from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

    from modelwatch.ui import handlers

    app = FastAPI(title="modelwatch", docs_url=None, redoc_url=None, openapi_url=None)
    dag_access = [Depends(requires_access_dag("GET"))]

    def root(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/") or URL_PREFIX

    def send(result: handlers.Response) -> Response:
        if result.redirect:
            return RedirectResponse(result.redirect, status_code=result.status)
        if result.file is not None:
            media = "text/html" if result.file.suffix == ".html" else None
            return FileResponse(result.file, media_type=media)
        return HTMLResponse(result.html or "", status_code=result.status)

    # FastAPI reads these signatures at run time: no postponed annotations in this module.
    @app.get("/", dependencies=[Depends(get_user)], response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        return send(handlers.overview(root(request), warehouse_connection_url))

    @app.get("/dags/{dag_id}", dependencies=dag_access, response_class=HTMLResponse)
    def model_tab(request: Request, dag_id: str, check: str = "psi") -> Response:
        return send(handlers.model_tab(root(request), dag_id, check, warehouse_connection_url))

    @app.get("/dags/{dag_id}/hist", dependencies=dag_access, response_class=HTMLResponse)
    def histogram(dag_id: str, feature: str, window: str) -> Response:
        return send(handlers.histogram(dag_id, feature, window, warehouse_connection_url))

    @app.get("/dags/{dag_id}/runs/{run_id}", dependencies=dag_access, response_class=HTMLResponse)
    def run_tab(request: Request, dag_id: str, run_id: str) -> Response:
        return send(handlers.run_tab(root(request), dag_id, run_id, warehouse_connection_url))

    @app.get("/dags/{dag_id}/runs/{run_id}/report", dependencies=dag_access)
    def report(dag_id: str, run_id: str) -> Response:
        return send(handlers.report(dag_id, run_id, warehouse_connection_url))

    @app.get("/dags/{dag_id}/artifacts/{relative:path}", dependencies=dag_access)
    def artifact(dag_id: str, relative: str) -> Response:
        return send(handlers.artifact(dag_id, relative))

    return app


class _AppsOnFirstUse(list):
    """``fastapi_apps`` built the first time Airflow reads it: only the API server does, so
    schedulers, workers and the DAG processor that load plugins never import FastAPI for it."""

    def _build(self) -> None:
        if not super().__len__():
            super().append({"app": create_app(), "url_prefix": URL_PREFIX, "name": "modelwatch"})

    def __iter__(self):
        self._build()
        return super().__iter__()

    def __len__(self) -> int:
        self._build()
        return super().__len__()

    def __getitem__(self, index):
        self._build()
        return super().__getitem__(index)


class ModelwatchPlugin(AirflowPlugin):
    name = "modelwatch"
    fastapi_apps = _AppsOnFirstUse()
    external_views = [
        {"name": "Model monitoring", "href": "modelwatch/", "destination": "nav",
         "url_route": "model-monitoring", "category": "browse"},
        {"name": "Monitoring", "href": "modelwatch/dags/{DAG_ID}", "destination": "dag",
         "url_route": "monitoring"},
        {"name": "Monitoring", "href": "modelwatch/dags/{DAG_ID}/runs/{RUN_ID}",
         "destination": "dag_run", "url_route": "monitoring-run"},
    ]
