"""Raw values for exact KS: a seeded reference sample (once per profile) and, for small windows,
one numeric column of the window (one bounded query per column).

Everything else in modelwatch aggregates in the warehouse; these are the two places raw values
leave it, and both are capped: the reference sample at ``REFERENCE_SAMPLE`` rows, the window pull
at the small-window cut-off ``drift.ks_exact_max_rows`` per slice (a ``LIMIT`` guards the query).

The reference sample is a sample of *rows*: each numeric column's values (``None`` where null)
and each segment column's folded value, so a slice's reference sample is the sampled rows of that
slice — a uniform sample of the slice's reference rows, without storing one sample per slice.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.dialects import sample_order
from modelwatch.warehouse.source import event_time, monitored_rows
from modelwatch.warehouse.window_stats import ALL, OTHER, WindowStats, numeric_columns

REFERENCE_SAMPLE = 5000
SAMPLE_SEED = "modelwatch-ks-1"
FETCH_ROWS = 10_000

# slice key -> column -> the window's non-null values of that column in that slice
WindowSamples = dict[str, dict[str, np.ndarray]]


def wants_exact_ks(cfg: MonitorConfig) -> bool:
    """Whether this config computes exact KS on small windows (so the profile needs a sample)."""
    return cfg.drift.ks_exact_max_rows > 0 and "ks" in cfg.drift.numeric_methods


def _hash_key(cfg: MonitorConfig, source) -> list:
    """What the sample's hash reads: the request id (and item), text in every warehouse alike —
    not the timestamp, whose text form differs between dialects."""
    c = cfg.columns
    return [source.c[n] for n in (c.request_id, c.item) if n]


def _row_key(cfg: MonitorConfig, source) -> list:
    return [*_hash_key(cfg, source), event_time(cfg, source)]


def _fold(value, keep: list[str]) -> int:
    """Code of a segment value in the profile's kept list; ``len(keep)`` is ``__other__``."""
    try:
        return keep.index(value)
    except ValueError:
        return len(keep)


def reference_sample(conn: Connection, cfg: MonitorConfig, source: sa.Subquery,
                     segments: dict[str, list[str]], size: int = REFERENCE_SAMPLE) -> dict:
    """A seeded uniform sample of at most ``size`` reference rows (all of them when fewer).

    On DuckDB/PostgreSQL the rows are ordered by ``md5(key || seed)`` and the first ``size`` kept;
    elsewhere the row numbers are drawn with ``numpy.random.default_rng`` and the rows streamed in
    key order, so memory stays bounded either way.
    """
    numeric = numeric_columns(cfg)
    seg_names = list(segments)
    cols = [sa.cast(source.c[n], sa.Double).label(f"v{i}") for i, n in enumerate(numeric)]
    cols += [sa.cast(source.c[s], sa.String).label(f"s{i}") for i, s in enumerate(seg_names)]
    key = _row_key(cfg, source)
    order = sample_order(conn.dialect.name, _hash_key(cfg, source), SAMPLE_SEED)
    if order is not None:
        rows = conn.execute(sa.select(*cols).order_by(order, *key).limit(size)).all()
    else:
        total = conn.execute(sa.select(sa.func.count()).select_from(source)).scalar_one()
        rng = np.random.default_rng(int.from_bytes(SAMPLE_SEED.encode(), "little") % 2**32)
        wanted = (np.arange(total) if total <= size
                  else np.sort(rng.choice(total, size=size, replace=False)))
        rows, position, pick = [], 0, 0
        result = conn.execute(sa.select(*cols).order_by(*key))
        while pick < wanted.size and (chunk := result.fetchmany(FETCH_ROWS)):
            for row in chunk:
                if pick < wanted.size and position == wanted[pick]:
                    rows.append(row)
                    pick += 1
                position += 1
        result.close()
    n_num = len(numeric)
    return {
        "rows": len(rows),
        "seed": SAMPLE_SEED,
        "numeric": {name: [None if r[i] is None else float(r[i]) for r in rows]
                    for i, name in enumerate(numeric)},
        "segments": {seg: [_fold(r[n_num + j], segments[seg]) for r in rows]
                     for j, seg in enumerate(seg_names)},
    }


def reference_values(sample: dict | None, segments: dict[str, list[str]], column: str,
                     slice_key: str) -> np.ndarray | None:
    """The sample's non-null values of ``column`` in slice ``slice_key``; None without a sample."""
    if not sample or column not in sample.get("numeric", {}):
        return None
    values = sample["numeric"][column]
    if slice_key == ALL:
        keep = [v for v in values if v is not None]
    else:
        seg, _, value = slice_key.partition("=")
        codes = sample["segments"].get(seg)
        if codes is None:
            return None
        kept = segments.get(seg, [])
        code = len(kept) if value == OTHER else _fold(value, kept)
        keep = [v for v, c in zip(values, codes, strict=True) if c == code and v is not None]
    return np.asarray(keep, dtype=float)


def _slice_filter(source, slice_key: str, segments: dict[str, list[str]]):
    if slice_key == ALL:
        return sa.true()
    seg, _, value = slice_key.partition("=")
    text = sa.cast(source.c[seg], sa.String)
    if value != OTHER:
        return text == value
    kept = segments.get(seg, [])
    return sa.or_(source.c[seg].is_(None), text.not_in(kept)) if kept else sa.true()


def window_samples(conn: Connection, cfg: MonitorConfig, start: datetime, end: datetime,
                   stats: WindowStats, segments: dict[str, list[str]],
                   table: str | None = None) -> WindowSamples:
    """The window's raw values of each numeric column, for the slices small enough for exact KS.

    A slice qualifies when it has between 1 and ``drift.ks_exact_max_rows`` non-null values of the
    column (and, unless it is the whole window, at least ``slices.min_rows`` rows; smaller slices
    are skipped anyway). One query per column reads the qualifying slices' values with a
    ``LIMIT`` of the count the window's aggregation found (plus one); a slice whose pulled count
    differs from that count is left out, so it falls back to the grid KS.
    """
    if not wants_exact_ks(cfg) or not stats.rows:
        return {}
    cap = cfg.drift.ks_exact_max_rows
    source = monitored_rows(cfg, start, end, numeric=numeric_columns(cfg), table=table)
    seg_names = [s for s in cfg.segments if s in segments]
    out: WindowSamples = {}
    for name in numeric_columns(cfg):
        chosen = {key: s.non_null.get(name, 0) for key, s in stats.slices.items()
                  if 0 < s.non_null.get(name, 0) <= cap
                  and (key == ALL or s.rows >= cfg.slices.min_rows)
                  and (key == ALL or key.partition("=")[0] in seg_names)}
        if not chosen:
            continue
        col = source.c[name]
        where = [col.is_not(None)]
        if ALL in chosen:
            limit = chosen[ALL]
        else:
            where.append(sa.or_(*(_slice_filter(source, k, segments) for k in chosen)))
            limit = sum(chosen.values())
        query = (sa.select(sa.cast(col, sa.Double),
                           *(sa.cast(source.c[s], sa.String) for s in seg_names))
                 .where(*where).limit(limit + 1))
        rows = conn.execute(query).all()
        if len(rows) > limit:  # the window changed under us: do not trust a partial pull
            continue
        values = np.asarray([r[0] for r in rows], dtype=float)
        for key, expected in chosen.items():
            if key == ALL:
                picked = values
            else:
                seg, _, value = key.partition("=")
                j = seg_names.index(seg)
                kept = segments.get(seg, [])
                code = len(kept) if value == OTHER else _fold(value, kept)
                mask = np.fromiter((_fold(r[1 + j], kept) == code for r in rows), bool, len(rows))
                picked = values[mask]
            if picked.size == expected:
                out.setdefault(key, {})[name] = picked
    return out
