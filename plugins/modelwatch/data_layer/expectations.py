"""Great Expectations step of the data layer: suite → Checkpoint in the warehouse → rows → Data Docs.

Every GX row links the window's Data Docs (``details.data_docs``: the local ``file://`` URL and,
when S3 is configured, the ``s3://`` URI), so an alert leads to the page showing the failing
expectation and its unexpected values.
"""

from __future__ import annotations

import logging
import pathlib
import shutil
import statistics

from sqlalchemy.engine import Engine

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.artifacts import local_docs_dir, upload_dir
from modelwatch.data_layer.gx.results import result_row
from modelwatch.data_layer.gx.suite import build_suite
from modelwatch.data_layer.volume import baseline
from modelwatch.metrics import MetricRow
from modelwatch.profile import Profile

log = logging.getLogger(__name__)


def expected_rows(cfg: MonitorConfig, profile: Profile, start) -> float | None:
    counts, _ = baseline(cfg, profile, start)
    return float(statistics.median(counts)) if counts else None


def expectation_rows(engine: Engine, cfg: MonitorConfig, profile: Profile, window, run_id: str,
                     artifacts_dir: pathlib.Path | None, live: dict[str, str],
                     broken: set[str]) -> list[MetricRow]:
    from modelwatch.data_layer.gx.checkpoint import run_checkpoint

    g = cfg.data_layer.great_expectations
    a = cfg.data_layer.artifacts
    specs = build_suite(cfg, profile, live, broken, expected_rows(cfg, profile, window.start))
    if not specs:
        return []
    docs = local_docs_dir(a, artifacts_dir, cfg.model.name, window.start, window.end)
    if docs.exists():  # a rerun of the window replaces its docs
        shutil.rmtree(docs)
    outcome = run_checkpoint(engine, cfg, window.start, window.end, specs, docs_dir=docs,
                             unexpected_sample=g.unexpected_sample, run_name=run_id)
    links = {}
    if outcome.docs_index is not None:
        links["local"] = outcome.docs_index.resolve().as_uri()
        if a.s3_bucket:
            links["s3"] = upload_dir(a, docs, cfg.model.name, window.start, window.end)
    rows = []
    for spec, success, result in outcome.results:
        row = result_row(spec, success, result, g.unexpected_sample)
        if links:
            row.details["data_docs"] = links
        rows.append(row)
    log.info("GX checkpoint %s: %d expectations, %d failed, %.1fs; Data Docs %s", cfg.model.name,
             len(rows), sum(not s for _, s, _ in outcome.results), outcome.seconds,
             links.get("s3") or links.get("local"))
    return rows
