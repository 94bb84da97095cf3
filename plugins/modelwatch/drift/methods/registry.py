"""Registry of drift methods keyed by ``(name, feature_kind)``, and the types they exchange.

Every method is a pure function ``BinnedInput -> DriftScore`` declared with
``@register("psi", kinds=(...), warn=..., alert=...)``. Callers look methods up here, and every
error message lists what is registered, so adding a method never means editing a hard-coded list.

This module and the method modules import only numpy at import time (scipy is imported inside the
functions that need it), so config validation can list method names at DAG parse time cheaply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

KINDS: tuple[str, ...] = ("numeric", "categorical")


def _counts(name: str, values: object) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} counts must be a 1-D array, got shape {arr.shape}")
    bad = np.flatnonzero(np.isnan(arr))
    if bad.size:
        raise ValueError(f"{name} counts contain NaN at bins {bad[:10].tolist()}; counts must be finite")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        raise ValueError(
            f"{name} counts must be finite and >= 0; bad bins {bad[:10].tolist()} "
            f"hold {arr[bad[:10]].tolist()}"
        )
    return arr


@dataclass(frozen=True, eq=False)
class BinnedInput:
    """Reference and current counts over the same bins, validated on construction.

    Counts are converted to float arrays. NaN, infinite or negative counts raise ``ValueError``
    here, so a method never silently turns bad input into a plausible-looking number. All-zero
    counts on one side are allowed: the methods return a NaN score for them.

    Attributes:
        reference: Counts per bin in the reference window.
        current: Counts per bin in the current window, same length as ``reference``.
        edges: Numeric features only: the inner bin edges, sorted, ``len(counts) - 1`` of them.
            Bin 0 is ``(-inf, edges[0])``, bin i is ``[edges[i-1], edges[i])``, the last bin is
            ``[edges[-1], +inf)``.
        bounds: Numeric features only: ``(min, max)`` over reference and current values; closes
            the two outer bins for methods that integrate over x (Wasserstein).
    """

    reference: np.ndarray
    current: np.ndarray
    edges: np.ndarray | None = None
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        ref = _counts("reference", self.reference)
        cur = _counts("current", self.current)
        if ref.shape != cur.shape:
            raise ValueError(f"bin count mismatch: reference has {ref.size} bins, current {cur.size}")
        if ref.size == 0:
            raise ValueError("no bins: reference and current counts are empty arrays")
        object.__setattr__(self, "reference", ref)
        object.__setattr__(self, "current", cur)
        if self.edges is not None:
            edges = np.asarray(self.edges, dtype=float)
            if edges.ndim != 1 or edges.size != ref.size - 1:
                raise ValueError(
                    f"edges must be the {ref.size - 1} inner edges of {ref.size} bins, "
                    f"got shape {edges.shape}"
                )
            if not np.all(np.isfinite(edges)):
                raise ValueError("edges must be finite (the outer bins are open; do not pass ±inf)")
            if np.any(np.diff(edges) < 0):
                raise ValueError("edges must be sorted in increasing order")
            object.__setattr__(self, "edges", edges)
        if self.bounds is not None:
            lo, hi = (float(b) for b in self.bounds)
            if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
                raise ValueError(f"bounds must be finite (min, max) with min <= max, got {self.bounds}")
            object.__setattr__(self, "bounds", (lo, hi))

    @property
    def empty_side(self) -> str | None:
        """``"reference"`` or ``"current"`` when that side holds no observations, else ``None``."""
        if not self.reference.sum() > 0:
            return "reference"
        if not self.current.sum() > 0:
            return "current"
        return None

    def shares(self) -> tuple[np.ndarray, np.ndarray]:
        """Reference and current shares per bin (each sums to 1); check ``empty_side`` first."""
        return self.reference / self.reference.sum(), self.current / self.current.sum()

    def require_edges(self, method: str, *, bounds: bool = False) -> np.ndarray:
        """The edges, or a ``ValueError`` saying the CDF-based ``method`` needs an ordered grid."""
        if self.edges is None:
            raise ValueError(f"{method} needs the inner bin edges of a numeric feature (edges=None)")
        if bounds and self.bounds is None:
            raise ValueError(f"{method} needs bounds=(min, max) to close the outer bins (bounds=None)")
        return self.edges


@dataclass(frozen=True)
class DriftScore:
    """What a method found.

    Attributes:
        value: Effect size, higher means more drift; NaN when it cannot be computed (an empty side).
        p_value: For methods with a test. Informational only: with large windows every tiny shift is
            "significant", so thresholds apply to ``value``.
        details: Method-specific extras (smoothing applied, approximation bound, raw statistic).
    """

    value: float
    p_value: float | None = None
    details: dict = field(default_factory=dict)


def empty_score(data: BinnedInput, *, has_test: bool = False) -> DriftScore | None:
    """A NaN score when one side of ``data`` is empty, else ``None`` (the method goes on)."""
    side = data.empty_side
    if side is None:
        return None
    return DriftScore(
        float("nan"),
        float("nan") if has_test else None,
        {"reason": f"the {side} window has no observations"},
    )


@dataclass(frozen=True)
class MethodSpec:
    """A registered method and its declaration.

    Attributes:
        name: Name used in monitor configs.
        kinds: Feature kinds it applies to, a subset of ``KINDS``.
        func: The pure function ``BinnedInput -> DriftScore``.
        default_warn: Default warn level on ``DriftScore.value``.
        default_alert: Default alert level on ``DriftScore.value``.
        needs_edges: True for CDF-based methods, which need an ordered numeric grid.
        description: One line for docs and the CLI.
    """

    name: str
    kinds: tuple[str, ...]
    func: Callable[[BinnedInput], DriftScore]
    default_warn: float
    default_alert: float
    needs_edges: bool
    description: str


METHODS: dict[tuple[str, str], MethodSpec] = {}

DriftFunc = Callable[[BinnedInput], DriftScore]


def register(
    name: str,
    *,
    kinds: tuple[str, ...],
    warn: float,
    alert: float,
    needs_edges: bool = False,
    description: str = "",
) -> Callable[[DriftFunc], DriftFunc]:
    """Declare ``func`` as drift method ``name`` for each of ``kinds``; returns it unchanged.

    Raises:
        ValueError: On an unknown kind, ``warn > alert``, a CDF method offered for categorical
            features, or a second, different function registered under the same key.
    """
    kinds = tuple(kinds)
    unknown = sorted(set(kinds) - set(KINDS))
    if not kinds or unknown:
        raise ValueError(f"method {name!r}: kinds must be a non-empty subset of {KINDS}, got {kinds}")
    if not warn <= alert:
        raise ValueError(f"method {name!r}: warn ({warn}) must not exceed alert ({alert})")
    if needs_edges and "categorical" in kinds:
        raise ValueError(f"method {name!r} needs ordered bin edges, so it cannot take categorical features")

    def decorate(func: DriftFunc) -> DriftFunc:
        doc = (func.__doc__ or "").strip().splitlines()
        spec = MethodSpec(name, kinds, func, float(warn), float(alert), needs_edges, description or doc[0])
        for kind in kinds:
            old = METHODS.get((name, kind))
            if old is not None and _qualname(old.func) != _qualname(func):
                raise ValueError(
                    f"drift method {name!r} ({kind}) is already registered by {_qualname(old.func)}"
                )
            METHODS[(name, kind)] = spec
        return func

    return decorate


def _qualname(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def get_method(name: str, kind: str) -> MethodSpec:
    """The method registered as ``(name, kind)``.

    Raises:
        KeyError: Naming the kinds the method supports when it exists for other kinds, else
            listing every registered method name.
    """
    spec = METHODS.get((name, kind))
    if spec is not None:
        return spec
    if kind not in KINDS:
        raise KeyError(f"unknown feature kind {kind!r}; kinds are {list(KINDS)}")
    supported = sorted(k for n, k in METHODS if n == name)
    if supported:
        raise KeyError(
            f"drift method {name!r} supports {supported} features, not {kind!r}; "
            f"methods for {kind} features: {method_names(kind)}"
        )
    raise KeyError(f"unknown drift method {name!r}; registered methods: {method_names()}")


def method_names(kind: str | None = None) -> list[str]:
    """Sorted names of the registered methods, optionally only those for ``kind`` features.

    Raises:
        ValueError: When ``kind`` is not one of ``KINDS``.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; kinds are {list(KINDS)}")
    return sorted({n for n, k in METHODS if kind is None or k == kind})
