"""Optional extras (``pip install 'modelwatch[<extra>]'``): is one installed, and how to install it.

A ground-floor module (it imports nothing of modelwatch) so that config, which refuses a setting
whose package is missing up front, and the code that imports the package, which fails clearly on
a worker installed without it, give the same fix.
"""

from __future__ import annotations

import importlib.util

MLFLOW_INSTALL_HINT = "pip install 'modelwatch[mlflow]'"


def module_installed(name: str) -> bool:
    """Whether ``import <name>`` can work, without importing it (a DAG parse stays light)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
