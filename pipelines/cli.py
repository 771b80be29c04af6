"""`callhouse` command line: parsing and output only; the work happens in the modules it calls."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence

# dlt logs schema-merge chatter at WARNING on every Arrow load; users see our lines instead.
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")

from pipelines.errors import CallhouseError, UsageError  # noqa: E402

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, as for every usage error
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--warehouse", help="DuckDB file (default warehouse/calls.duckdb or $CALLHOUSE_WAREHOUSE)")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    sources = argparse.ArgumentParser(add_help=False)
    sources.add_argument("--source", action="append", dest="sources", metavar="S", help="cinnox, bandwidth or genesys (repeatable)")
    sources.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for another run to finish")

    parser = _Parser(prog="callhouse", description="Call records from CINNOX, Bandwidth and Genesys into DuckDB.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("run", parents=[common, sources], help="nightly load from each source's cursor, then rebuild views")
    backfill = sub.add_parser("backfill", parents=[common, sources], help="load [start, end) without moving the nightly cursor")
    backfill.add_argument("--start", required=True, help="date or ISO-8601 datetime (UTC if no offset)")
    backfill.add_argument("--end", required=True, help="date or ISO-8601 datetime, exclusive")
    sub.add_parser("views", parents=[common], help="(re)create every view from sql/")
    sub.add_parser("check", parents=[common], help="run the data tests; exit 1 listing failures")
    sub.add_parser("status", parents=[common], help="per source: last run, cursor, coverage, gaps, rows")
    sub.add_parser("demo", parents=[common], help="sandbox + 7-day backfill + nightly + views + report")
    sandbox = sub.add_parser("sandbox", parents=[common], help="serve the vendor-API sandbox in the foreground")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--seed", type=int, default=1)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("callhouse: interrupted; committed windows are kept, rerun to continue", file=sys.stderr)
        return EXIT_FAILED
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except Exception as exc:
        if debug:
            raise
        from pipelines.runner import root_error

        error = root_error(exc)
        if isinstance(error, CallhouseError):
            print(f"callhouse: {error}", file=sys.stderr)
            return error.exit_code
        print(f"callhouse: unexpected {type(error).__name__}: {_one_line(error)} (rerun with --debug for details)", file=sys.stderr)
        return EXIT_FAILED


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300]


# --- loading -------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.load_state import LoadRequest
    from pipelines.runner import new_run_id

    request = LoadRequest("nightly", end=_now(), run_id=new_run_id())
    code = _load(args, request, "run")
    if code == EXIT_OK:
        _rebuild_views_if_available(args)
    return code


def cmd_backfill(args: argparse.Namespace) -> int:
    from pipelines.load_state import LoadRequest
    from pipelines.runner import new_run_id
    from pipelines.windows import parse_instant

    start, end = parse_instant(args.start, "--start"), parse_instant(args.end, "--end")
    if end <= start:
        raise UsageError(f"--end ({args.end}) must be after --start ({args.start})")
    request = LoadRequest("backfill", start=start, end=end, run_id=new_run_id())
    return _load(args, request, f"backfill --start {args.start} --end {args.end}")


def _now() -> Any:
    """The moment a nightly run loads up to: now, or CALLHOUSE_NOW (replays and tests)."""
    import pendulum

    from pipelines.windows import parse_instant

    pinned = os.environ.get("CALLHOUSE_NOW")
    return parse_instant(pinned, "CALLHOUSE_NOW") if pinned else pendulum.now("UTC")


def _load(args: argparse.Namespace, request: Any, command: str) -> int:
    from pipelines.progress import Progress
    from pipelines.runner import SOURCE_NAMES, missing_settings, root_error, run_source
    from pipelines.warehouse import Warehouse

    warehouse = Warehouse.resolve(args.warehouse)
    progress = Progress()
    names = _chosen_sources(args)
    if args.sources is None:
        missing = {name: missing_settings(name) for name in names}
        names = [name for name in names if not missing[name]]
        if not names:
            raise UsageError(f"no source is configured: set the SOURCES__<S>__... settings for one of {', '.join(SOURCE_NAMES)}")
        for name, settings in missing.items():
            if settings:
                progress.line(f"{name}: skipped, no credentials configured (set {', '.join(settings)})")
    failed = 0
    with warehouse.writer_lock(command, wait_s=args.wait):
        warehouse.connect().close()  # held open by another process (an analyst): say so before any work
        for name in names:
            try:
                result = run_source(name, request, warehouse, progress, command)
            except UsageError:
                raise
            except Exception as exc:
                if args.debug:
                    raise
                failed += 1
                message = _one_line(root_error(exc))
                message = message[len(name) + 2:] if message.startswith(f"{name}: ") else message
                progress.line(f"{name}: FAILED: {message}")
                continue
            progress.line(_summary(result))
    return EXIT_FAILED if failed else EXIT_OK


def _chosen_sources(args: argparse.Namespace) -> list[str]:
    from pipelines.runner import SOURCE_NAMES, source_module

    if not args.sources:
        return list(SOURCE_NAMES)
    names = []
    for name in args.sources:
        source_module(name)  # unknown or unbuilt source: a usage error now, before any work
        if name not in names:
            names.append(name)
    return names


def _summary(result: Any) -> str:
    stats = result.stats
    tables = ", ".join(f"{t} {n:,}" for t, n in sorted(stats.rows.items()) if t != "quarantine") or "no rows"
    parts = [
        f"{stats.windows_done} windows",
        f"{stats.pages} pages",
        f"{stats.requests} requests",
        f"{stats.throttled} throttled",
        f"{stats.retries} retried",
    ]
    line = f"{result.name}: ok, {tables}; " + ", ".join(parts)
    if stats.quarantined:
        line += f"; {stats.quarantined} quarantined (see {result.name}.quarantine)"
    if stats.truncated:
        line += f"; {len(stats.truncated)} windows TRUNCATED by the vendor cap"
    for notice in stats.notices:
        line += f"\n{result.name}: {notice}"
    return line


# --- views, checks, status ------------------------------------------------------------------


def _views_module() -> Any:
    try:
        from pipelines import views
    except ModuleNotFoundError as exc:
        if exc.name == "pipelines.views":
            return None
        raise
    return views


def _rebuild_views_if_available(args: argparse.Namespace) -> None:
    views = _views_module()
    if views is not None:
        from pipelines.warehouse import Warehouse

        views.build_views(Warehouse.resolve(args.warehouse), out=sys.stderr)


def cmd_views(args: argparse.Namespace) -> int:
    views = _views_module()
    if views is None:
        raise UsageError("views: not implemented yet")
    from pipelines.warehouse import Warehouse

    views.build_views(Warehouse.resolve(args.warehouse), out=sys.stdout)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    views = _views_module()
    if views is None or not hasattr(views, "run_checks"):
        raise UsageError("check: not implemented yet")
    from pipelines.warehouse import Warehouse

    return views.run_checks(Warehouse.resolve(args.warehouse), out=sys.stdout)


def cmd_status(args: argparse.Namespace) -> int:
    from pipelines.status import print_status
    from pipelines.warehouse import Warehouse

    print_status(Warehouse.resolve(args.warehouse), out=sys.stdout)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        from pipelines.demo import run_demo
    except ModuleNotFoundError as exc:
        if exc.name == "pipelines.demo":
            raise UsageError("demo: not implemented yet") from None
        raise
    return run_demo(args)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from pipelines.sandbox import serve

    serve(port=args.port, seed=args.seed)
    return EXIT_OK


COMMANDS = {
    "run": cmd_run,
    "backfill": cmd_backfill,
    "views": cmd_views,
    "check": cmd_check,
    "status": cmd_status,
    "demo": cmd_demo,
    "sandbox": cmd_sandbox,
}

if __name__ == "__main__":
    sys.exit(main())
