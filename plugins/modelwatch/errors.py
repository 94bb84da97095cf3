"""One exception hierarchy, split into terminal and transient failures.

Terminal errors (bad config, bad data contract) will fail again on retry, so the Airflow edge turns
them into ``AirflowFailException``; transient ones (warehouse unreachable, DuckDB file locked)
are left to Airflow's retries.
"""


class ModelwatchError(Exception):
    """Base of every error modelwatch raises on purpose.

    ``user_error``: the user's config, tables or installation must change before it can work (the
    CLI exits 2 and prints the message alone); otherwise a terminal error is modelwatch's own
    failure (exit 1).
    """

    terminal = True
    user_error = False


class ConfigError(ModelwatchError):
    """A monitor file is invalid; the message names file, key, bad value and the fix."""

    user_error = True


class ContractError(ModelwatchError):
    """The warehouse does not hold what the monitor config says it should (table, column)."""

    user_error = True


class ReferenceError_(ModelwatchError):
    """The reference window or table gives nothing to compare against."""

    user_error = True


class MissingDependency(ModelwatchError):
    """An optional package a configured step needs is not installed. Terminal: retrying cannot
    install it; the message says which extra to install, or which key turns the step off."""

    user_error = True

    def __init__(self, package: str, *, needed_for: str, extra: str, turn_off: str | None = None,
                 missing: str | None = None):
        self.package, self.extra, self.turn_off = package, extra, turn_off
        because = f" (no module named {missing!r})" if missing and missing != package else ""
        off = f", or turn the step off with `{turn_off}` in the monitor YAML" if turn_off else ""
        super().__init__(f"{needed_for} needs the package {package!r}, which is not installed"
                         f"{because}. Fix: pip install 'modelwatch[{extra}]'{off}")


class WarehouseUnavailable(ModelwatchError):
    """The warehouse could not be reached or was busy; retrying can succeed."""

    terminal = False


class ReferenceSourceUnavailable(WarehouseUnavailable):
    """The reference file's store (S3) could not be reached, or the file changed while it was being
    read; retrying can succeed."""
