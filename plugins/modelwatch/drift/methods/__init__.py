"""Drift methods: pure functions on binned counts, registered by ``(name, feature_kind)``.

Importing this package imports every method module, which registers it; look methods up with
``get_method(name, kind)`` and list them with ``method_names(kind)``.
"""

from modelwatch.drift.methods import chi_square, jensen_shannon, kl, ks, psi, wasserstein  # noqa: F401
from modelwatch.drift.methods.registry import (
    METHODS,
    BinnedInput,
    DriftScore,
    MethodSpec,
    get_method,
    method_names,
)

__all__ = ["METHODS", "BinnedInput", "DriftScore", "MethodSpec", "get_method", "method_names"]
