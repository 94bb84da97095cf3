"""One exception hierarchy, split into terminal and transient failures.

Terminal errors (bad config, bad data contract) will fail again on retry, so the Airflow edge turns
them into ``AirflowFailException``; transient ones (warehouse unreachable, DuckDB file locked)
are left to Airflow's retries.
"""


class ModelwatchError(Exception):
    """Base of every error modelwatch raises on purpose."""

    terminal = True


class ConfigError(ModelwatchError):
    """A monitor file is invalid; the message names file, key, bad value and the fix."""


class ContractError(ModelwatchError):
    """The warehouse does not hold what the monitor config says it should (table, column)."""


class ReferenceError_(ModelwatchError):
    """The reference window or table gives nothing to compare against."""


class WarehouseUnavailable(ModelwatchError):
    """The warehouse could not be reached or was busy; retrying can succeed."""

    terminal = False


class ReferenceSourceUnavailable(WarehouseUnavailable):
    """The reference file's store (S3) could not be reached, or the file changed while it was being
    read; retrying can succeed."""
