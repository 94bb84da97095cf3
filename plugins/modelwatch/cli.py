"""The ``modelwatch`` command. It calls the same runner steps as the DAG tasks.

Exit codes: 0 success; 1 modelwatch's own failure (an internal error); 2 the config, the tables
it names or the installation must change (invalid config, a table/column problem, an empty
reference, a missing optional package, doctor found errors); 3 warehouse unavailable.
Errors print their message alone; ``--debug`` adds the traceback.

Every command that reads a monitor file takes it the same way: ``CONFIG`` as a positional
argument, or ``--config CONFIG``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from modelwatch.errors import ConfigError, ModelwatchError, WarehouseUnavailable

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG, EXIT_WAREHOUSE = 0, 1, 2, 3


def _parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date/time: write e.g. 2026-09-21 or 2026-09-21T06:00"
        ) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    from modelwatch.config.loader import load_monitor

    failed = 0
    paths = [*args.paths, *args.config_paths]
    if not paths:
        print("check-config: give at least one monitor YAML: modelwatch check-config CONFIG...",
              file=sys.stderr)
        return EXIT_CONFIG
    for path in paths:
        try:
            cfg = load_monitor(path)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: ok (model {cfg.model.name}, {len(cfg.features)} features, "
              f"dag {cfg.dag_id})")
    return EXIT_CONFIG if failed else EXIT_OK


def cmd_profile(args: argparse.Namespace) -> int:
    from modelwatch.config.loader import load_monitor
    from modelwatch.runner import step_profile

    cfg = load_monitor(args.config)
    profile = step_profile(cfg, rebuild=args.rebuild)
    data = profile.data
    print(f"profile {profile.profile_key} for {cfg.model.name}: {data['rows']} reference rows, "
          f"{data['rows_per_window']:.0f} per window, {len(data['numeric'])} numeric and "
          f"{len(data['categorical'])} categorical columns")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from modelwatch.config.loader import load_monitor
    from modelwatch.runner import run_window
    from modelwatch.summary import metrics_table
    from modelwatch.window import Window

    cfg = load_monitor(args.config)
    end = args.end or args.start + cfg.schedule.window
    window = Window(args.start, end)
    result = run_window(cfg, window, run_id=args.run_id or f"cli__{window.start.isoformat()}")
    if args.json:
        print(json.dumps(result.to_json(), default=str, indent=2))
    else:
        print(f"{cfg.model.name} {window}")
        print(metrics_table(result.metrics, only_flagged=args.only_flagged))
        if result.delivery is not None:
            print(result.delivery.table())
        if result.decision is not None:
            print(result.decision.summary())
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from modelwatch.config.loader import load_monitor
    from modelwatch.runner import step_report
    from modelwatch.window import Window

    cfg = load_monitor(args.config)
    window = Window(args.start, args.end or args.start + cfg.schedule.window)
    run_id = args.run_id or f"cli__{window.start.isoformat()}"
    stored = step_report(cfg, window, run_id)
    print(f"report of {cfg.model.name} {window}: {stored.local_path} ({stored.size_bytes:,} bytes)"
          + (f", {stored.s3_uri}" if stored.s3_uri else ""))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from modelwatch.config.loader import load_monitor
    from modelwatch.doctor import run_doctor

    cfg = load_monitor(args.config)
    diagnosis = run_doctor(cfg, windows=args.windows)
    if args.json:
        print(json.dumps(diagnosis.to_json(), indent=2))
    else:
        print(diagnosis.table())
    return EXIT_CONFIG if diagnosis.errors else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from modelwatch.demo.run import run_demo

    return run_demo(rows_per_day=args.rows_per_day, first_day=args.first_day,
                    last_day=args.last_day)


def cmd_alerts(args: argparse.Namespace) -> int:
    from modelwatch.alerting.commands import ack_command, list_command, review_command

    if args.alerts_command == "list":
        print(list_command(args.config, status=args.status, every_window=args.every_window))
    elif args.alerts_command == "review":
        print(review_command(args.config, week_ending=args.week_ending, post=args.post))
    else:
        print(ack_command(args.config, args.id, by=args.by, note=args.note))
    return EXIT_OK


CONFIG_HELP = "monitor YAML (include/monitors/<model>.yaml); or give it as --config CONFIG"


def _config_argument(p: argparse.ArgumentParser, *, required: bool = True,
                     help: str = CONFIG_HELP) -> None:
    """``CONFIG`` positional, or ``--config CONFIG``: the same two forms on every command
    (``_resolve_config`` checks that exactly one value was given where one is needed)."""
    p.add_argument("config", nargs="?", metavar="CONFIG", help=help)
    p.add_argument("--config", dest="config_option", metavar="CONFIG",
                   help="the same as the positional CONFIG")
    p.set_defaults(config_required=required, config_parser=p)


def _resolve_config(args: argparse.Namespace) -> None:
    if not hasattr(args, "config_option"):
        return
    parser = args.config_parser
    if args.config and args.config_option and args.config != args.config_option:
        parser.error(f"CONFIG given twice ({args.config} and --config {args.config_option}): "
                     "give it once")
    args.config = args.config or args.config_option
    if args.config_required and not args.config:
        parser.error(f"the monitor YAML is required: {parser.prog} CONFIG (or --config CONFIG)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelwatch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an error (any command)")
    # accepted after the command too (modelwatch run CONFIG --debug)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    each = {"parents": [common]}

    p = sub.add_parser("check-config", **each, help="validate monitor YAML files")
    p.add_argument("paths", nargs="*", metavar="CONFIG", help="monitor YAML files")
    p.add_argument("--config", dest="config_paths", action="append", default=[],
                   metavar="CONFIG", help="a monitor YAML file (repeatable), like the positional")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("doctor", **each, help="check the live warehouse against a monitor config before "
                       "the first run: tables, columns and types, reference rows, recent windows, "
                       "label coverage, duplicate ids (exit 2 on any error)")
    _config_argument(p)
    p.add_argument("--windows", type=int, default=7,
                   help="recent schedule windows counted, ending at the newest event (default 7)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("profile", **each, help="compute (once) and store the reference profile")
    _config_argument(p)
    p.add_argument("--rebuild", action="store_true", help="recompute even if stored")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("run", **each, help="run every check for one window, like the DAG does")
    _config_argument(p)
    p.add_argument("--start", type=_parse_time, required=True, help="window start (UTC)")
    p.add_argument("--end", type=_parse_time, help="window end (default: start + window)")
    p.add_argument("--run-id", help="recorded with the metrics (default: cli__<start>)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--only-flagged", action="store_true", help="hide checks that are ok")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("report", **each, help="write the self-contained HTML report of one window")
    _config_argument(p)
    p.add_argument("--start", type=_parse_time, required=True, help="window start (UTC)")
    p.add_argument("--end", type=_parse_time, help="window end (default: start + window)")
    p.add_argument("--run-id", help="the run whose rows to include (default: cli__<start>)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("demo", **each, help="seed the demo warehouse and monitor it through Airflow")
    p.add_argument("--rows-per-day", type=int, default=20_000)
    p.add_argument("--first-day", type=int, default=1, help="first scenario day to monitor")
    p.add_argument("--last-day", type=int, default=45, help="last scenario day to monitor")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("alerts", **each, help="list and acknowledge alerts (mw_alert)")
    alerts = p.add_subparsers(dest="alerts_command", required=True)
    q = alerts.add_parser("list", **each, help="each cause's latest alert, newest first")
    _config_argument(q, required=False, help="monitor YAML: its warehouse and model (default: "
                     "every model in the default warehouse); or --config CONFIG")
    q.add_argument("--status", choices=["open", "acked", "resolved"], help="only this status")
    q.add_argument("--every-window", action="store_true", help="one row per window, not per cause")
    q.set_defaults(func=cmd_alerts)
    q = alerts.add_parser("ack", **each, help="acknowledge an alert (and the rest of its episode)")
    q.add_argument("id", help="alert id, or a unique prefix of it as `alerts list` prints")
    q.add_argument("--by", required=True, help="who acknowledges")
    q.add_argument("--note", required=True, help="what was found or done")
    _config_argument(q, required=False, help="monitor YAML: its warehouse and model (default: "
                     "the default warehouse); or --config CONFIG")
    q.set_defaults(func=cmd_alerts)
    q = alerts.add_parser("review", **each, help="a week's alert volume, ack and action rate per rule and "
                          "owner, with recalibration suggestions (what the weekly DAG posts)")
    _config_argument(q)
    q.add_argument("--week-ending", type=_parse_time,
                   help="end of the week reviewed (UTC; default: the last Monday 00:00)")
    q.add_argument("--post", action="store_true", help="also post each owner's summary to Slack "
                   "(once per week and owner)")
    q.set_defaults(func=cmd_alerts)
    return parser


DEBUG_HINT = "run with --debug for the traceback"


def exit_code_and_message(exc: Exception) -> tuple[int, str]:
    """What the CLI exits with and prints for an error: the message first, no traceback.

    The user's problems (``user_error``: config, tables, reference, a missing package) exit 2;
    an unreachable warehouse exits 3; anything else is modelwatch's own failure, exit 1.
    """
    if isinstance(exc, WarehouseUnavailable):
        return EXIT_WAREHOUSE, (f"warehouse unavailable: {exc}. Fix: check the URL/connection and "
                                "that the server is up (or another process holds the DuckDB file)")
    if isinstance(exc, ModelwatchError) and exc.user_error:
        return EXIT_CONFIG, str(exc)
    if isinstance(exc, ModelwatchError):
        return EXIT_FAILURE, f"{exc}\n({DEBUG_HINT})"
    text = str(exc).strip().splitlines()
    detail = f": {text[0]}" if text else ""
    return EXIT_FAILURE, (f"internal error: {type(exc).__name__}{detail} ({DEBUG_HINT}; please "
                          "report it with the traceback)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _resolve_config(args)
    try:
        return args.func(args)
    except Exception as exc:  # noqa: BLE001 - every error becomes a message and an exit code
        code, message = exit_code_and_message(exc)
        if getattr(args, "debug", False):
            import traceback

            traceback.print_exc(file=sys.stderr)
        print(message, file=sys.stderr)
        return code


def entry_point() -> None:
    """Console script. Exits hard after flushing: duckdb 2.0's bindings print pages of
    'nanobind: leaked instance' noise at interpreter shutdown, which is not a failure."""
    import os

    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry_point()
