"""A reference parquet file in S3, staged in the warehouse so it is profiled like a reference table.

``object_identity`` asks S3 for the object's ETag (one ``HEAD``): it is part of the profile's
identity, so a changed file is profiled again and an unchanged one is reused without a download.
``staged_reference`` downloads the object (streamed to a temporary file, never held in memory,
pinned to that ETag with ``If-Match``) and loads the columns the profile reads into a temporary
table on the profile's connection:

- DuckDB reads the file itself (``read_parquet``);
- other warehouses (PostgreSQL) get it in record batches through pyarrow, so memory stays bounded
  by one batch whatever the file's size.

The profile is then computed from that table by the same SQL as a configured reference table.
Credentials come from boto3's usual chain (env, shared profile, instance role).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig, Reference, parse_s3_uri
from modelwatch.errors import ContractError, ReferenceError_, ReferenceSourceUnavailable
from modelwatch.warehouse.source import predictions_ref

STAGE_TABLE = "mw_reference_stage"
BATCH_ROWS = 10_000
CHUNK_BYTES = 1 << 20
_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")
_REFUSED = ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch")


def _client(ref: Reference):
    import boto3

    return boto3.client("s3", endpoint_url=ref.s3_endpoint_url, region_name=ref.s3_region)


def _fail(uri: str, exc: Exception) -> Exception:
    """A terminal error for a missing/forbidden object, a transient one for anything else."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING:
            return ReferenceError_(f"reference.s3_uri {uri}: no such object ({code}). Fix: upload "
                                   "the reference parquet there, or correct `reference.s3_uri`")
        if code in _REFUSED:
            return ReferenceError_(f"reference.s3_uri {uri}: access refused ({code}). Fix: give "
                                   "the task's AWS credentials (env, profile or role) s3:GetObject "
                                   "on it")
    return ReferenceSourceUnavailable(f"reference.s3_uri {uri}: S3 unavailable: {exc}")


def object_identity(ref: Reference) -> dict:
    """``{"s3_uri", "etag"}`` of the reference object (one HEAD request); ``{}`` for other sources."""
    if ref.s3_uri is None:
        return {}
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = parse_s3_uri(ref.s3_uri)
    try:
        head = _client(ref).head_object(Bucket=bucket, Key=key)
    except (BotoCoreError, ClientError) as exc:
        raise _fail(ref.s3_uri, exc) from exc
    return {"s3_uri": ref.s3_uri, "etag": str(head["ETag"]).strip('"')}


def download(ref: Reference, etag: str, path: str) -> None:
    """Stream the object to ``path``, refusing any version other than ``etag``."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = parse_s3_uri(ref.s3_uri)
    try:
        body = _client(ref).get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')["Body"]
        with open(path, "wb") as out:
            for chunk in body.iter_chunks(CHUNK_BYTES):
                out.write(chunk)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("412", "PreconditionFailed"):
            raise ReferenceSourceUnavailable(
                f"reference.s3_uri {ref.s3_uri} changed while it was being profiled (ETag "
                f"{etag} is gone); the retry profiles the new file") from exc
        raise _fail(ref.s3_uri, exc) from exc
    except BotoCoreError as exc:
        raise _fail(ref.s3_uri, exc) from exc


def _sql_type(arrow_type):
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_boolean(arrow_type):
        return sa.Boolean()
    if pa.types.is_integer(arrow_type):
        return sa.BigInteger()
    if pa.types.is_floating(arrow_type):
        return sa.Double()
    if pa.types.is_decimal(arrow_type):
        return sa.Numeric()
    if pa.types.is_timestamp(arrow_type):
        return sa.DateTime()
    if pa.types.is_date(arrow_type):
        return sa.Date()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return sa.Text()
    return None


def _columns(cfg: MonitorConfig, path: str):
    """The profile's columns present in the file, with their arrow types; a contract error
    naming every missing or unusable one."""
    import pyarrow.parquet as pq

    schema = pq.ParquetFile(path).schema_arrow
    wanted = list(predictions_ref(cfg).c.keys())
    missing = [c for c in wanted if c not in schema.names]
    if missing:
        raise ContractError(
            f"reference.s3_uri {cfg.reference.s3_uri}: the file has no column(s) {missing} (it has "
            f"{schema.names}). Fix: write the reference with the predictions table's columns")
    types = {c: schema.field(c).type for c in wanted}
    bad = {c: str(t) for c, t in types.items() if _sql_type(t) is None}
    if bad:
        raise ContractError(f"reference.s3_uri {cfg.reference.s3_uri}: unsupported column type(s) "
                            f"{bad}. Fix: write numbers, text, booleans, dates or timestamps")
    return types


def _stage_duckdb(conn: Connection, path: str, types: dict) -> None:
    import pyarrow as pa

    quote = conn.dialect.identifier_preparer.quote
    exprs = []
    for name, arrow_type in types.items():
        col = quote(name)
        if pa.types.is_timestamp(arrow_type) and arrow_type.tz:  # naive UTC, like the warehouse
            exprs.append(f"timezone('UTC', {col}) AS {col}")
        else:
            exprs.append(col)
    literal = "'" + path.replace("'", "''") + "'"
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {quote(STAGE_TABLE)} AS SELECT "
                         f"{', '.join(exprs)} FROM read_parquet({literal})")


def _stage_batches(conn: Connection, path: str, types: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = sa.Table(STAGE_TABLE, sa.MetaData(),
                     *(sa.Column(n, _sql_type(t)) for n, t in types.items()),
                     prefixes=["TEMPORARY"])
    table.create(conn)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=list(types)):
        arrays = []
        for arr in batch.columns:
            if pa.types.is_timestamp(arr.type):  # to naive UTC microseconds
                arr = arr.cast(pa.timestamp("us", tz=arr.type.tz), safe=False)
                arr = arr.cast(pa.timestamp("us")) if arr.type.tz else arr
            elif pa.types.is_dictionary(arr.type):
                arr = arr.dictionary_decode()
            arrays.append(arr)
        rows = pa.RecordBatch.from_arrays(arrays, names=batch.schema.names).to_pylist()
        if rows:
            conn.execute(table.insert(), rows)


@contextlib.contextmanager
def staged_reference(conn: Connection, cfg: MonitorConfig, identity: dict) -> Iterator[str | None]:
    """The table to profile: the configured reference table (or None for a predictions window),
    or, for ``reference.s3_uri``, a temporary table holding the file's rows (dropped after)."""
    if cfg.reference.s3_uri is None:
        yield cfg.reference.table
        return
    with tempfile.TemporaryDirectory(prefix="mw-reference-") as tmp:
        path = os.path.join(tmp, "reference.parquet")
        download(cfg.reference, identity["etag"], path)
        types = _columns(cfg, path)
        quote = conn.dialect.identifier_preparer.quote
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(STAGE_TABLE)}")
        if conn.dialect.name == "duckdb":
            _stage_duckdb(conn, path, types)
        else:
            _stage_batches(conn, path, types)
        try:
            yield STAGE_TABLE
        finally:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(STAGE_TABLE)}")
