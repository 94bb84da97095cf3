"""Registry of drift methods keyed by ``(name, feature_kind)``.

A method module declares itself with ``@register("psi", kinds=("numeric", "categorical"))``; the
rest of the code looks methods up here, and error messages list what is registered, so adding a
method never means editing a hard-coded list.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CountsMethod = Callable[[np.ndarray, np.ndarray], float]
METHODS: dict[tuple[str, str], CountsMethod] = {}


def register(name: str, kinds: tuple[str, ...]):
    def decorate(func: CountsMethod) -> CountsMethod:
        for kind in kinds:
            METHODS[(name, kind)] = func
        return func

    return decorate


def get_method(name: str, kind: str) -> CountsMethod:
    try:
        return METHODS[(name, kind)]
    except KeyError:
        known = sorted(f"{n} ({k})" for n, k in METHODS)
        raise KeyError(f"no drift method {name!r} for {kind} features; known: {known}") from None
