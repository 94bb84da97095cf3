"""The artifact store of Data Docs: a local folder always, S3 (boto3) when a bucket is set.

Layout: ``<root>/data_docs/<model>/<window start>_<window end>/index.html`` locally and
``s3://<bucket>/<prefix>/<model>/<window start>_<window end>/…`` remotely, one folder per window,
so a rerun of a window overwrites its own docs and nothing else.
"""

from __future__ import annotations

import mimetypes
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from modelwatch.config.data_layer import ArtifactSettings
from modelwatch.errors import WarehouseUnavailable
from modelwatch.paths import modelwatch_home


class ArtifactStoreUnavailable(WarehouseUnavailable):
    """S3 could not be reached or refused the upload; retrying can succeed."""


def window_key(start: datetime, end: datetime) -> str:
    return f"{start:%Y%m%dT%H%M%S}_{end:%Y%m%dT%H%M%S}"


def local_docs_dir(settings: ArtifactSettings, artifacts_dir: Path | None, model: str, start: datetime,
                   end: datetime) -> Path:
    root = Path(settings.local_dir) if settings.local_dir else (
        artifacts_dir if artifacts_dir is not None else modelwatch_home() / "artifacts")
    return root / "data_docs" / model / window_key(start, end)


def upload_dir(settings: ArtifactSettings, local: Path, model: str, start: datetime, end: datetime) -> str:
    """Upload every file under ``local``; returns the ``s3://`` URI of its index.html."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    prefix = "/".join(p for p in (settings.s3_prefix, model, window_key(start, end)) if p)
    client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region)
    try:
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            key = f"{prefix}/{path.relative_to(local).as_posix()}"
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            client.upload_file(str(path), settings.s3_bucket, key, ExtraArgs={"ContentType": content_type})
    except (BotoCoreError, ClientError) as exc:
        raise ArtifactStoreUnavailable(
            f"could not upload Data Docs to s3://{settings.s3_bucket}/{prefix}: {exc}") from exc
    return f"s3://{settings.s3_bucket}/{prefix}/index.html"


def artifact_root(settings: ArtifactSettings) -> Path:
    """The local root of the artifact store (what the UI plugin serves files from)."""
    return (Path(settings.local_dir) if settings.local_dir else modelwatch_home() / "artifacts").resolve()


def served_url(settings: ArtifactSettings, prefix: str, uri: str) -> str:
    """A ``file://`` URI under the artifact root as ``<prefix>/<relative path>`` — the UI plugin's
    route, which a browser (or a Slack reader) can open; any other URI is returned unchanged."""
    if not uri.startswith("file://"):
        return uri
    root = artifact_root(settings)
    path = Path(unquote(urlparse(uri).path)).resolve()
    if root not in path.parents:
        return uri
    return f"{prefix.rstrip('/')}/{quote(path.relative_to(root).as_posix())}"
