"""Drift statistics: pure functions on counts, registered by name and feature kind."""

# Importing a method module registers it.
from modelwatch.stats import psi as _psi  # noqa: E402,F401
from modelwatch.stats.registry import METHODS, get_method, register

__all__ = ["METHODS", "get_method", "register"]
