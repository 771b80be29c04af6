"""`callhouse` command line: parsing and output only; the work happens in pipelines/commands/."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from pipelines.errors import (
    EXIT_FAILED,
    EXIT_OK,
    CallhouseError,
    RedactedStream,
    UsageError,
    one_line,
    redact_secrets,
    root_error,
)


class _Formatter(argparse.HelpFormatter):
    """Help texts name the registered vendors: `{sources}` (their names: "a, b or c") and
    `{vendors}` (their display names) are filled in only when help is shown, so that parsing does
    not import every source (and dlt) and the command line stays fast."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return _with_vendors(super()._get_help_string(action))

    def _format_text(self, text: str) -> str:
        return super()._format_text(_with_vendors(text) or "")


def _with_vendors(text: str | None) -> str | None:
    if not text or ("{sources}" not in text and "{vendors}" not in text):
        return text
    from pipelines.sources.registry import VENDORS

    def listed(words: list[str], last: str) -> str:
        return ", ".join(words[:-1]) + f" {last} " + words[-1] if len(words) > 1 else "".join(words)

    sources = listed([v.name for v in VENDORS], "or")
    return text.replace("{sources}", sources).replace("{vendors}", listed([v.display_name for v in VENDORS], "and"))


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # one line and exit 2, as for every usage error
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--warehouse",
        help="the DuckDB file (WAREHOUSE__DESTINATION=duckdb, the default); with ducklake or postgres, a file whose folder "
        "keeps this machine's working files (default warehouse/calls.duckdb or $CALLHOUSE_WAREHOUSE)",
    )
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    sources = _Parser(add_help=False)
    sources.add_argument("--source", action="append", dest="sources", metavar="S", help="{sources} (repeatable)")
    sources.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for another run to finish")

    parser = _Parser(
        prog="callhouse",
        description="Call records from {vendors} into a warehouse: a DuckDB file, a DuckLake or PostgreSQL (WAREHOUSE__DESTINATION).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sources.add_argument(
        "--rotate-privacy-key",
        action="store_true",
        help="accept a new PRIVACY__KEY: callers get new pseudonyms (docs/privacy.md)",
    )
    run = sub.add_parser("run", parents=[common, sources], help="nightly load from each source's cursor, then rebuild views")
    run.add_argument("--check", action="store_true", help="then run the data tests too (exit 1 if one fails): the scheduled job")
    backfill = sub.add_parser("backfill", parents=[common, sources], help="load [start, end) without moving the nightly cursor")
    backfill.add_argument("--start", required=True, help="date or ISO-8601 datetime (UTC if no offset)")
    backfill.add_argument("--end", required=True, help="date or ISO-8601 datetime, exclusive")
    backfill.add_argument("--force", action="store_true", help="load into a range that was purged (retention)")
    purge = sub.add_parser("purge", parents=[common], help="delete calls before DATE for good (docs/privacy.md)")
    purge.add_argument("--before", required=True, help="date or ISO-8601 datetime (UTC if no offset)")
    purge.add_argument("--source", action="append", dest="sources", metavar="S", help="{sources} (repeatable; default all)")
    sub.add_parser("views", parents=[common], help="(re)create every view from sql/")
    sub.add_parser("check", parents=[common], help="run the data tests; exit 1 listing failures")
    status = sub.add_parser("status", parents=[common], help="per source: last run, cursor, coverage, gaps, rows")
    status_format = status.add_mutually_exclusive_group()
    status_format.add_argument("--json", action="store_true", help="as JSON for programs (schema: docs/operations.md)")
    status_format.add_argument(
        "--prometheus", action="store_true", help="as Prometheus text-format metrics (callhouse_*) for a textfile collector"
    )
    maintain = sub.add_parser(
        "maintain", parents=[common], help="DuckLake: expire old snapshots, merge small files, remove unreferenced files"
    )
    maintain.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for running loads")
    sub.add_parser("demo", parents=[common], help="sandbox + 7-day backfill + nightly + views + report")
    report = sub.add_parser(
        "report",
        parents=[common],
        help="write one self-contained HTML page of charts from the reporting views",
        description="One HTML file (no network needed to open it) from the reporting views: headline figures, "
        "calls per day, answer rate, hour-by-weekday heatmap, peak concurrency, staff, Genesys SIP replies, data health.",
    )
    report.add_argument("--out", metavar="PATH", help="the HTML file to write (default: report.html beside the warehouse)")
    report.add_argument(
        "--start", help="first day: a date (a day in REPORTING__TIMEZONE) or ISO-8601 datetime (UTC if no offset)"
    )
    report.add_argument("--end", help="end, exclusive, as --start (default for both: the last 7 full days)")
    report.add_argument("--vendor", action="append", dest="vendors", metavar="V", help="{sources} (repeatable; default all)")
    sandbox = sub.add_parser("sandbox", parents=[common], help="serve the vendor-API sandbox in the foreground")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--seed", type=int, default=1)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:  # kept for the process: the traceback of an error raised below is printed after main
        sys.stderr = RedactedStream(sys.stderr)
    try:
        args = build_parser().parse_args(argv)
        return dispatch(args)
    except KeyboardInterrupt:
        print("callhouse: interrupted; committed windows are kept, rerun to continue", file=sys.stderr)
        return EXIT_FAILED
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except BrokenPipeError:
        # The reader went away (`callhouse status | head`): nothing more to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if debug:
            raise
        error = root_error(exc)
        if isinstance(error, CallhouseError):
            print(f"callhouse: {redact_secrets(str(error))}", file=sys.stderr)
            return error.exit_code
        print(
            f"callhouse: unexpected {type(error).__name__}: {one_line(error)} (rerun with --debug for details)", file=sys.stderr
        )
        return EXIT_FAILED


def dispatch(args: argparse.Namespace) -> int:
    """The command's exit code. Commands are imported when chosen: `--help` stays fast."""
    if args.command in ("run", "backfill"):
        from pipelines.commands import loading

        options = loading.LoadOptions(
            args.warehouse,
            tuple(args.sources or ()),
            args.wait,
            args.debug,
            check=getattr(args, "check", False),
            rotate_privacy_key=args.rotate_privacy_key,
            force=getattr(args, "force", False),
        )
        return loading.run(options) if args.command == "run" else loading.backfill(options, args.start, args.end)
    if args.command == "views":
        from pipelines.commands import views

        return views.views(args.warehouse)
    if args.command == "check":
        from pipelines.commands.checks import check

        return check(args.warehouse)
    if args.command == "purge":
        from pipelines.commands.purge import purge

        return purge(args.warehouse, args.before, tuple(args.sources or ()))
    if args.command == "status":
        from pipelines.commands.status import print_status
        from pipelines.warehouse.choice import resolve_warehouse

        shape = "json" if args.json else "prometheus" if args.prometheus else "text"
        return print_status(resolve_warehouse(args.warehouse), out=sys.stdout, shape=shape)
    if args.command == "maintain":
        from pipelines.commands import maintain

        return maintain.run(args.warehouse, args.wait)
    if args.command == "report":
        from pipelines.commands import report

        return report.run(args.warehouse, args.out, args.start, args.end, args.vendors)
    if args.command == "demo":
        from pipelines.commands.demo import run_demo

        return run_demo(args.warehouse, debug=args.debug)
    from pipelines.sandbox import serve

    serve(port=args.port, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
