"""A reproducible fraud-model scenario with incidents whose days and features are known.

- 45 days from 2026-09-01, ``rows_per_day`` predictions a day (20k by default).
- 16 numeric and 5 categorical features (``merchant_id`` has 5,000 values), segments
  ``region`` and ``customer_tier``.
- Weekly seasonality that must NOT alert: ~15 % less traffic and slightly larger amounts on
  weekends.
- Day-to-day noise that must NOT alert either: the 200 largest merchants run promotions, so each
  one's daily volume wobbles (log-normal, sd 0.5) and ``merchant_id``'s mix moves more between
  normal days (PSI 0.03–0.08) than sampling alone explains. Its calibrated warn level is learnt
  from that (0.13–0.15 where the other features stay on the 0.1 floor), visible in
  ``mw_metric.details.warn_threshold``; the alert level (``mw_metric.threshold``) stays on its
  0.25 floor.
- Covariate shift from day 20 (2026-09-20) on ``distance_from_home_km``, ``device_risk`` and
  ``velocity_1h``.
- Pipeline bug on days 30–32 (2026-09-30 .. 2026-10-02): ``avg_amount_30d`` silently served as 0
  (the offline feature store keeps the true value).
- A bad champion version ``v1.1`` deployed on day 38: its scores are biased upwards.
- Scores from a scikit-learn logistic regression fitted on pre-period data; a gradient-boosting
  challenger scores all traffic in shadow; labels arrive 3–10 days late, 5 % never.
- A business KPI, ``approval_rate``: the share of transactions approved — not declined by the
  model (score ≥ 0.5) nor by the card issuer (3 % of transactions on weekdays, 4.5 % on weekends,
  a weekly pattern that must NOT alert). The bad version's declines cut it by ≈15 points.
- Table shapes as users have them: ``predictions.event_ts`` and ``labels.label_ts`` are
  ``TIMESTAMP WITH TIME ZONE`` (the usual type for event times), while the shadow log's
  ``event_ts`` and the offline store's ``computed_ts`` are naive UTC, and the KPI's ``ts`` is a
  ``DATE`` — every kind ``warehouse/source`` accepts, on the front door.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

START = datetime(2026, 9, 1)
DAYS = 45
SHIFT_DAY = 20
SHIFTED_FEATURES = ("distance_from_home_km", "device_risk", "velocity_1h")
BUG_DAYS = (30, 31, 32)
BUG_FEATURE = "avg_amount_30d"
BAD_VERSION_DAY = 38  # a bad champion version is deployed: its scores are biased upwards
BAD_VERSION = "v1.1"
MODEL_NAME = "fraud_demo"
ISSUER_DECLINE = {False: 0.03, True: 0.045}  # share of transactions the issuer declines (weekend?)
MERCHANTS = 5000
PROMO_MERCHANTS, PROMO_SD = 200, 0.5  # merchants whose daily volume wobbles, and by how much (log)

NUMERIC = [
    "amount", "account_age_days", "tx_count_24h", "avg_amount_30d", "distance_from_home_km",
    "minutes_since_last_tx", "device_risk", "ip_risk", "velocity_1h", "merchant_risk",
    "card_age_days", "failed_logins_7d", "session_seconds", "basket_items", "credit_utilization",
    "hour_of_day",
]
CATEGORICAL = ["merchant_category", "channel", "country", "device_type", "merchant_id"]
SEGMENTS = ["region", "customer_tier"]


def day_of(index: int) -> datetime:
    """Start of scenario day ``index`` (1-based, as in the issue text: day 1 = START)."""
    return START + timedelta(days=index - 1)


@dataclass
class Scenario:
    predictions: pd.DataFrame
    shadow_predictions: pd.DataFrame
    labels: pd.DataFrame
    offline_features: pd.DataFrame
    kpis: pd.DataFrame


def merchant_mix(promo_rng: np.random.Generator | None = None) -> np.ndarray:
    """Share of each merchant's traffic: Zipf-like; with ``promo_rng``, one day's promotions
    (the largest merchants' volumes multiplied by log-normal noise)."""
    weights = 1.0 / np.arange(1, MERCHANTS + 1) ** 0.8
    if promo_rng is not None:
        weights[:PROMO_MERCHANTS] *= np.exp(promo_rng.normal(0.0, PROMO_SD, PROMO_MERCHANTS))
    return weights / weights.sum()


def _features(rng: np.random.Generator, n: int, day_index: np.ndarray, ts: pd.Series,
              drift: bool, merchants: np.ndarray | None = None) -> pd.DataFrame:
    weekend = (ts.dt.dayofweek >= 5).to_numpy()
    shifted = drift & (day_index >= SHIFT_DAY)
    f = pd.DataFrame({
        "amount": rng.lognormal(3.6 + 0.08 * weekend, 0.9),
        "account_age_days": rng.gamma(2.0, 400.0, n),
        "tx_count_24h": rng.poisson(3.0, n).astype(float),
        "avg_amount_30d": rng.lognormal(3.5, 0.6, n),
        "distance_from_home_km": rng.lognormal(2.0 + 0.9 * shifted, 1.0),
        "minutes_since_last_tx": rng.exponential(300.0, n),
        "device_risk": np.clip(rng.beta(2, 8, n) + 0.2 * shifted, 0, 1),
        "ip_risk": rng.beta(2, 6, n),
        "velocity_1h": rng.poisson(1.0 + 1.5 * shifted).astype(float),
        "merchant_risk": rng.beta(2, 5, n),
        "card_age_days": rng.gamma(3.0, 300.0, n),
        "failed_logins_7d": rng.poisson(0.3, n).astype(float),
        "session_seconds": rng.lognormal(5.0, 0.7, n),
        "basket_items": rng.poisson(2.5, n).astype(float) + 1,
        "credit_utilization": rng.beta(2, 3, n),
        "hour_of_day": ts.dt.hour.to_numpy().astype(float),
    })
    cats = [f"mcc_{i:02d}" for i in range(12)]
    f["merchant_category"] = rng.choice(cats, n, p=np.linspace(2, 0.5, 12) / np.linspace(2, 0.5, 12).sum())
    f["channel"] = rng.choice(["web", "app", "pos"], n, p=[0.45, 0.35, 0.2])
    countries = [f"C{i:02d}" for i in range(20)]
    f["country"] = rng.choice(countries, n, p=np.r_[0.4, np.full(19, 0.6 / 19)])
    f["device_type"] = rng.choice(["ios", "android", "desktop", "other"], n, p=[0.35, 0.35, 0.25, 0.05])
    mix = merchant_mix() if merchants is None else merchants  # same draws either way
    f["merchant_id"] = np.char.add("m", rng.choice(MERCHANTS, n, p=mix).astype(str))
    f["region"] = rng.choice(["NA", "EU", "APAC", "LATAM"], n, p=[0.4, 0.3, 0.2, 0.1])
    f["customer_tier"] = rng.choice(["standard", "gold", "platinum"], n, p=[0.7, 0.22, 0.08])
    # a little missingness, as in real logs
    for col, rate in (("session_seconds", 0.02), ("ip_risk", 0.01)):
        f.loc[rng.random(n) < rate, col] = np.nan
    return f


def _true_logit(f: pd.DataFrame) -> np.ndarray:
    return (
        -8.4
        + 0.55 * np.log1p(f["amount"]) - 0.35 * np.log1p(f["avg_amount_30d"])
        + 0.35 * np.log1p(f["distance_from_home_km"]) + 3.0 * f["device_risk"]
        + 1.5 * f["ip_risk"].fillna(0.25) + 0.35 * f["velocity_1h"] + 1.2 * f["merchant_risk"]
        - 0.0004 * f["account_age_days"] + 0.4 * f["failed_logins_7d"]
        + 0.6 * (f["channel"] == "web") + 0.5 * (f["device_type"] == "other")
        + 0.8 * f["device_risk"] * (f["velocity_1h"] > 2)
    ).to_numpy()


def _design(f: pd.DataFrame) -> pd.DataFrame:
    """Model inputs: numeric features (NaN filled) plus one-hots of the small categoricals."""
    x = f[NUMERIC].fillna(f[NUMERIC].median()).copy()
    for col in ("channel", "device_type"):
        for value in sorted(f[col].unique()):
            x[f"{col}={value}"] = (f[col] == value).astype(float)
    return x


def _fit_models(seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed + 1)
    n = 40_000
    ts = pd.Series(pd.to_datetime(START - timedelta(days=30)) + pd.to_timedelta(
        rng.uniform(0, 30 * 86400, n), unit="s"))
    f = _features(rng, n, np.zeros(n, dtype=int), ts, drift=False)
    y = rng.random(n) < 1 / (1 + np.exp(-_true_logit(f)))
    x = _design(f)
    champion = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    challenger = HistGradientBoostingClassifier(max_iter=120, random_state=seed).fit(x, y)
    return champion, challenger, list(x.columns)


def generate(rows_per_day: int = 20_000, days: int = DAYS, seed: int = 7,
             gradual: tuple[str, int, float] | None = None) -> Scenario:
    """The scenario's tables. ``gradual=(feature, first_day, per_day)`` adds a slow drift: the
    feature grows by ``per_day`` every day from ``first_day`` (used to test change points)."""
    rng = np.random.default_rng(seed)
    champion, challenger, columns = _fit_models(seed)
    # the KPI's own stream: adding it left every other table exactly as it was
    kpi_rng = np.random.default_rng(seed + 2)
    promo_rng = np.random.default_rng(seed + 3)  # likewise the merchants' promotions
    frames, shadows, labels, offline, approval = [], [], [], [], []
    next_id = 0
    for d in range(1, days + 1):
        start = day_of(d)
        n = int(rows_per_day * (0.85 if start.weekday() >= 5 else 1.0) * rng.uniform(0.97, 1.03))
        seconds = np.sort(rng.uniform(0, 86400, n))
        ts = pd.Series(pd.to_datetime(start) + pd.to_timedelta(seconds, unit="s"))
        f = _features(rng, n, np.full(n, d), ts, drift=True, merchants=merchant_mix(promo_rng))
        if gradual and d >= gradual[1]:
            f[gradual[0]] = f[gradual[0]] + gradual[2] * (d - gradual[1] + 1)
        y = rng.random(n) < 1 / (1 + np.exp(-_true_logit(f)))
        x = _design(f).reindex(columns=columns, fill_value=0.0)
        served = f.copy()
        if d in BUG_DAYS:
            served[BUG_FEATURE] = 0.0
            x[BUG_FEATURE] = 0.0
        score = champion.predict_proba(x)[:, 1]
        version = "v1"
        if d >= BAD_VERSION_DAY:  # a broken release: the intercept shipped wrong
            version = BAD_VERSION
            score = 1 / (1 + np.exp(-(np.log(score / (1 - score)) + 2.5)))
        shadow_score = challenger.predict_proba(x)[:, 1]
        issuer_declined = kpi_rng.random(n) < ISSUER_DECLINE[start.weekday() >= 5]
        approval.append(float(((score < 0.5) & ~issuer_declined).mean()))
        ids = np.char.add("r", np.arange(next_id, next_id + n).astype(str))
        next_id += n
        latency = rng.lognormal(3.6, 0.35, n)
        frames.append(pd.DataFrame({
            "request_id": ids, "event_ts": ts.dt.tz_localize("UTC"),  # TIMESTAMP WITH TIME ZONE
            "model_name": MODEL_NAME, "model_version": version, **{c: served[c] for c in
            NUMERIC + CATEGORICAL + SEGMENTS}, "score": score,
            "prediction": (score >= 0.5).astype(int), "latency_ms": latency,
        }))
        shadows.append(pd.DataFrame({
            "request_id": ids, "event_ts": ts, "model_name": MODEL_NAME,
            "model_version": "v2-challenger", "score": shadow_score,
            "prediction": (shadow_score >= 0.5).astype(int),
            "latency_ms": rng.lognormal(3.9, 0.35, n),
        }))
        delay_days = rng.uniform(3, 10, n)
        arrives = rng.random(n) >= 0.05
        labels.append(pd.DataFrame({
            "request_id": ids[arrives], "label": y[arrives].astype(int),
            "label_ts": (ts + pd.to_timedelta(delay_days * 86400, unit="s"))[arrives]
            .dt.tz_localize("UTC").reset_index(drop=True),
        }))
        offline.append(pd.DataFrame({"request_id": ids, **{c: f[c] for c in NUMERIC + CATEGORICAL},
                                     "computed_ts": ts + pd.Timedelta(hours=2)}))
    predictions = pd.concat(frames, ignore_index=True)
    kpis = pd.DataFrame({"ts": [day_of(d).date() for d in range(1, days + 1)],  # a DATE column
                         "kpi": "approval_rate", "value": approval, "segment": "all"})
    return Scenario(predictions, pd.concat(shadows, ignore_index=True),
                    pd.concat(labels, ignore_index=True), pd.concat(offline, ignore_index=True), kpis)


def seed_warehouse(engine, scenario: Scenario) -> dict[str, int]:
    """Write every input table of the scenario; returns row counts per table."""
    from modelwatch.warehouse.load import load_frame

    counts = {}
    for table in ("predictions", "shadow_predictions", "labels", "offline_features", "kpis"):
        frame = getattr(scenario, table)
        load_frame(engine, table, frame)
        counts[table] = len(frame)
    return counts
