"""Errors of the data layer. A failed *check* is never an error (it is a metric row); these are
for when the checks could not run at all."""

from __future__ import annotations

from modelwatch.errors import ModelwatchError, WarehouseUnavailable


class GreatExpectationsError(ModelwatchError):
    """GX could not evaluate expectations (unsupported on this dialect, bad kwargs, a GX bug).

    Terminal: the same suite fails the same way on retry; the message names each expectation.
    """


class GreatExpectationsUnavailable(WarehouseUnavailable):
    """GX could not reach the warehouse; retrying can succeed."""
