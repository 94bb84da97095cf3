"""The ``modelwatch`` command line: every subcommand's help, one way to give the monitor config
(positional ``CONFIG`` or ``--config CONFIG``) everywhere, and errors as a message and an exit
code — 2 for what the user must fix, 1 for modelwatch's own failure, 3 for an unreachable
warehouse — with the traceback only under ``--debug``."""

from __future__ import annotations

import argparse

import pytest

from modelwatch import cli
from modelwatch.cli import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_WAREHOUSE, main
from modelwatch.errors import ContractError, MissingDependency, WarehouseUnavailable
from tests.conftest import DEMO_YAML

CONFIG = str(DEMO_YAML)
# every command that reads a monitor file, with the rest of a valid call: (positional arguments
# before CONFIG, options)
WITH_CONFIG = {
    "check-config": ([], []),
    "doctor": ([], []),
    "profile": ([], []),
    "run": ([], ["--start", "2026-09-20"]),
    "report": ([], ["--start", "2026-09-20"]),
    "alerts list": ([], []),
    "alerts ack": (["abc"], ["--by", "ana", "--note", "seen"]),
    "alerts review": ([], []),
}


def _forms(command: str) -> tuple[list[str], list[str]]:
    """The call with CONFIG positional, and with --config CONFIG."""
    before, options = WITH_CONFIG[command]
    return ([*command.split(), *before, CONFIG, *options],
            [*command.split(), *before, *options, "--config", CONFIG])


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every (sub)command path of the parser, found by walking it (so a new one is covered)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


def test_every_command_is_covered_here():
    paths = {" ".join(p) for p in _commands(cli.build_parser())}
    assert paths == {"check-config", "doctor", "profile", "run", "report", "demo", "alerts",
                     "alerts list", "alerts ack", "alerts review"}
    assert set(WITH_CONFIG) == paths - {"demo", "alerts"}


@pytest.mark.parametrize("command", sorted(" ".join(p) for p in _commands(cli.build_parser())))
def test_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command.split(), "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: modelwatch {command}")
    assert "--debug" in out
    if command in WITH_CONFIG:
        assert "CONFIG" in out and "--config CONFIG" in out


def _parse(argv: list[str]) -> argparse.Namespace:
    args = cli.build_parser().parse_args(argv)
    cli._resolve_config(args)
    return args


@pytest.mark.parametrize("command", sorted(WITH_CONFIG))
def test_the_config_is_given_the_same_way_everywhere(command):
    positional, option = (_parse(argv) for argv in _forms(command))
    if command == "check-config":
        assert positional.paths + positional.config_paths == [CONFIG]
        assert option.paths + option.config_paths == [CONFIG]
    else:
        assert positional.config == option.config == CONFIG


def test_alerts_list_and_ack_work_without_a_config():
    assert _parse(["alerts", "list"]).config is None
    assert _parse(["alerts", "ack", "abc", "--by", "a", "--note", "n"]).config is None


@pytest.mark.parametrize("command", ["doctor", "profile", "alerts review"])
def test_a_required_config_that_is_missing_or_given_twice_is_a_usage_error(command, capsys):
    with pytest.raises(SystemExit) as done:
        _parse(command.split())
    assert done.value.code == 2
    assert f"the monitor YAML is required: modelwatch {command} CONFIG (or --config CONFIG)" \
        in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parse([*command.split(), "a.yaml", "--config", "b.yaml"])
    assert "CONFIG given twice (a.yaml and --config b.yaml)" in capsys.readouterr().err


@pytest.mark.parametrize("command, code", [
    ("check-config", EXIT_OK), ("doctor", EXIT_CONFIG), ("profile", EXIT_CONFIG),
    ("run", EXIT_CONFIG), ("report", EXIT_OK), ("alerts list", EXIT_OK),
    ("alerts ack", EXIT_CONFIG), ("alerts review", EXIT_OK),
])
def test_one_call_each_in_both_forms(command, code, duck_url, monkeypatch, capsys):
    """On an empty warehouse: the same answer whichever way the config is given; what the user
    must fix (no predictions table, an unknown alert id) exits 2 with the message alone."""
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", duck_url)
    answers = []
    for argv in _forms(command):
        answers.append((main(argv), *capsys.readouterr()))
    assert answers[0] == answers[1]
    got, out, err = answers[0]
    assert got == code, (out, err)
    assert "Traceback" not in err and "--debug" not in err
    if command in ("profile", "run"):
        assert err.startswith("fraud_demo: predictions (tables.predictions): no such table")


def _failing(monkeypatch, exc: Exception) -> None:
    def boom(args):
        raise exc

    monkeypatch.setattr(cli, "cmd_check_config", boom)


@pytest.mark.parametrize("exc, code", [
    (ContractError("m: labels (tables.labels): no such table or view. Fix: create it"), EXIT_CONFIG),
    (MissingDependency("great-expectations", needed_for="the GX step", extra="airflow"),
     EXIT_CONFIG),
    (WarehouseUnavailable("cannot reach warehouse duckdb:///x"), EXIT_WAREHOUSE),
])
def test_named_errors_print_their_message_first_and_no_traceback(exc, code, monkeypatch, capsys):
    _failing(monkeypatch, exc)
    assert main(["check-config", CONFIG]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert str(exc) in first


def test_an_unexpected_error_is_one_line_and_points_at_debug(monkeypatch, capsys):
    _failing(monkeypatch, KeyError("score"))
    assert main(["check-config", CONFIG]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.splitlines() == ["internal error: KeyError: 'score' (run with --debug for the "
                                "traceback; please report it with the traceback)"]


@pytest.mark.parametrize("argv", [["--debug", "check-config", CONFIG],
                                  ["check-config", CONFIG, "--debug"]])
def test_debug_prints_the_traceback_and_keeps_the_exit_code(argv, monkeypatch, capsys):
    _failing(monkeypatch, ContractError("m: no such table"))
    assert main(argv) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last)")
    assert "ContractError: m: no such table" in err and err.rstrip().endswith("m: no such table")


def test_missing_dependency_names_the_extra_and_the_switch():
    exc = MissingDependency("great-expectations", needed_for="the Great Expectations step",
                            extra="airflow", missing="great_expectations",
                            turn_off="data_layer.great_expectations.enabled: false")
    assert exc.terminal and exc.user_error
    assert str(exc) == (
        "the Great Expectations step needs the package 'great-expectations', which is not "
        "installed (no module named 'great_expectations'). Fix: pip install 'modelwatch[airflow]', "
        "or turn the step off with `data_layer.great_expectations.enabled: false` in the monitor "
        "YAML")


def test_check_config_without_a_file(capsys):
    assert main(["check-config"]) == EXIT_CONFIG
    assert "give at least one monitor YAML" in capsys.readouterr().err
