"""`python -m bench`: the benchmark of tracker issue 8. See bench/__init__.py for the modes."""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench import duckdb_versions, harness, report
from bench.vendors import VENDORS

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_SIZES = (100_000, 1_000_000)
QUICK_CALLS = 5_000
DUCKDB_VERSIONS_CALLS = 100_000


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Benchmark callhouse against baselines on sandbox data. With no mode flags: throughput at 100k "
            "and 1M calls, the nightly-growth run and the latency run."
        ),
    )
    parser.add_argument(
        "--calls",
        type=int,
        action="append",
        metavar="N",
        help="throughput run with N records of each --vendor (repeatable; default 100000 and 1000000)",
    )
    parser.add_argument(
        "--vendor",
        default="cinnox",
        metavar="V[,V...]",
        help="whose records the throughput runs load: cinnox (default), bandwidth, genesys, comma-separated; "
        "each against its own floor (DuckDB read_json + UNNEST of the same records) and dlt's paths",
    )
    parser.add_argument("--quick", action="store_true", help=f"throughput at {QUICK_CALLS:,} calls only (CI smoke)")
    parser.add_argument("--days", type=int, default=14, help="daily windows the calls are spread over (default 14)")
    parser.add_argument(
        "--paths",
        help=f"comma-separated paths to run in throughput mode (default all: {','.join(harness.ALL_PATHS)}; "
        "with --duckdb-versions: callhouse)",
    )
    parser.add_argument(
        "--duckdb-versions",
        metavar="V[,V...]",
        help="also run callhouse with these DuckDB releases (e.g. 2.0.0), each in a venv of the same lock with only "
        "duckdb changed (built once under bench/.venvs/, from PyPI), ratios against the pinned DuckDB; "
        f"alone: throughput at {DUCKDB_VERSIONS_CALLS:,} calls",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="with --duckdb-versions: run the comparison N times, the order reversed every other round, and report "
        "the median ratios (default %(default)s)",
    )
    parser.add_argument("--nightly-growth", action="store_true", help="nightly run of one day: empty vs full warehouse")
    parser.add_argument(
        "--history-calls",
        type=int,
        default=1_000_000,
        help="calls already in the warehouse for --nightly-growth (target: 5000000; default %(default)s)",
    )
    parser.add_argument("--history-days", type=int, default=30, help="days those calls span (default %(default)s)")
    parser.add_argument("--latency", action="store_true", help="100 ms latency and a rate limit: requests/s and 429s")
    parser.add_argument(
        "--rate", type=float, default=5.0, help="CINNOX requests/s the sandbox allows in --latency (default %(default)s)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=100.0, help="added latency per request in --latency (default %(default)s)"
    )
    parser.add_argument("--latency-calls", type=int, default=30_000, help="calls in --latency (default %(default)s)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run callhouse once under cProfile at the smallest size (not timed); "
        "writes bench/results/callhouse.prof and prints the top functions",
    )
    parser.add_argument(
        "--callhouse-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="setting for every callhouse run, e.g. SOURCES__CINNOX__CHECKPOINT_ROWS=100000 (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="where warehouses and logs go (default: a temp folder, removed)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.md", help="Markdown results (default %(default)s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls = [QUICK_CALLS]
        args.days = min(args.days, 7)
    args.vendors = [v.strip() for v in args.vendor.split(",") if v.strip()]
    unknown_vendors = set(args.vendors) - set(VENDORS)
    if unknown_vendors or not args.vendors:
        parser.error(f"--vendor: choose from {', '.join(VENDORS)}")
    args.duckdb_versions = [v.strip() for v in (args.duckdb_versions or "").split(",") if v.strip()]
    if args.duckdb_versions:
        if duckdb_versions.pinned() in args.duckdb_versions:
            parser.error(f"--duckdb-versions: {duckdb_versions.pinned()} is the pinned version, the baseline")
        args.calls = args.calls or ([] if args.nightly_growth or args.latency else [DUCKDB_VERSIONS_CALLS])
        args.paths = args.paths or "callhouse"
    if args.rounds < 1 or (args.rounds > 1 and not args.duckdb_versions):
        parser.error("--rounds: a number >= 1, with --duckdb-versions")
    explicit_mode = args.calls or args.nightly_growth or args.latency
    if not explicit_mode:
        args.calls, args.nightly_growth, args.latency = list(DEFAULT_SIZES), True, True
    args.calls = args.calls or []
    for item in args.callhouse_env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--callhouse-env {item!r}: write KEY=VALUE")
        harness.CALLHOUSE_OVERRIDES[key] = value
    args.paths = tuple(p.strip() for p in (args.paths or ",".join(harness.ALL_PATHS)).split(",") if p.strip())
    unknown = set(args.paths) - set(harness.ALL_PATHS)
    if unknown:
        parser.error(f"unknown paths {', '.join(sorted(unknown))} (choose from {', '.join(harness.ALL_PATHS)})")
    return args


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    info = report.machine()
    command = "python -m bench" + ("" if not argv else " " + shlex.join(argv))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="callhouse-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"bench: work folder {workdir}")
    started = time.monotonic()
    throughputs, growth, lat = [], None, None
    errors: list[str] = []

    def attempt(what: str, fn):  # a mode that breaks is reported; the others still run
        try:
            return fn()
        except Exception as exc:
            errors.append(f"{what}: {type(exc).__name__}: {' '.join(str(exc).split())[:500]}")
            log(f"bench: {errors[-1]}")
            return None

    interpreters: dict[str, str] = {}
    try:
        for version in args.duckdb_versions:
            python = attempt(f"duckdb {version}", lambda version=version: duckdb_versions.interpreter(version, log))
            if python is not None:
                interpreters[version] = str(python)
        for vendor in args.vendors:
            for calls in args.calls:
                log(f"bench: throughput, {calls:,} {VENDORS[vendor].display} {VENDORS[vendor].record} over {args.days} days")
                result = attempt(
                    f"throughput {vendor} {calls:,}",
                    lambda calls=calls, vendor=vendor: harness.throughput(
                        calls,
                        args.days,
                        workdir / f"throughput_{vendor}_{calls}",
                        args.paths,
                        seed=args.seed,
                        log=log,
                        duckdb_versions=interpreters,
                        rounds=args.rounds,
                        vendor=vendor,
                    ),
                )
                if result is not None:
                    throughputs.append(result)
        if args.nightly_growth:
            log(f"bench: nightly growth, {args.history_calls:,} calls of history over {args.history_days} days")
            growth = attempt(
                "nightly growth",
                lambda: harness.nightly_growth(
                    args.history_calls, args.history_days, workdir / "nightly_growth", seed=args.seed, log=log
                ),
            )
        if args.latency:
            log(f"bench: latency {args.latency_ms:g} ms, rate limit {args.rate:g} req/s, {args.latency_calls:,} calls")
            lat = attempt(
                "latency",
                lambda: harness.latency(
                    args.latency_calls, 7, args.rate, workdir / "latency", latency_ms=args.latency_ms, seed=args.seed, log=log
                ),
            )
        if args.profile:
            attempt("profile", lambda: profile(min(args.calls or [QUICK_CALLS]), args.days, workdir / "profile", seed=args.seed))
    finally:
        if not (args.keep or args.workdir):
            harness.clean(workdir)
    markdown = report.render(throughputs, growth, lat, info, command)
    for error in errors:
        markdown += f"\n**Failed:** {error}\n"
    markdown += f"\nBenchmark took {time.monotonic() - started:,.0f} s in all.\n"
    print(markdown)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown)
    args.out.with_suffix(".json").write_bytes(
        orjson.dumps(
            {
                "machine": info,
                "command": command,
                "throughput": report.as_dict(throughputs),
                "nightly_growth": report.as_dict(growth),
                "latency": report.as_dict(lat),
            },
            option=orjson.OPT_INDENT_2,
        )
    )
    log(f"bench: wrote {args.out} and {args.out.with_suffix('.json')}")
    failed = [e.split(":")[0] for e in errors] + [p.name for t in throughputs for p in t.paths if not p.skipped and not p.ok]
    if growth is not None:
        failed += [p.name for p in (growth.history_load, growth.on_empty, growth.on_full) if not p.ok]
    if lat is not None:
        failed += [p.name for p in lat.runs if not p.ok]
    if failed:
        log(f"bench: FAILED paths: {', '.join(failed)} (logs in the work folder; rerun with --keep)")
        return 1
    return 0


def profile(calls: int, days: int, workdir: Path, seed: int) -> None:
    """callhouse backfill under cProfile, all threads merged (slower than a plain run: for where
    time goes, not how much). Worker threads' time adds to the main thread's, so totals can
    exceed the wall time."""
    import pstats

    workdir.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "callhouse.prof"
    out.parent.mkdir(parents=True, exist_ok=True)
    end = harness.NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - days * harness.DAY
    log(f"bench: profiling callhouse backfill at {calls:,} calls -> {out}")
    with harness.SandboxProcess(
        calls_per_day=calls / days, history_days=days + 1, seed=seed, log_dir=workdir / "logs"
    ) as sandbox:
        sandbox.truth(start, end)
        argv = [harness.PYTHON, "-m", "bench.profile_threads", str(out)] + harness.callhouse_argv("backfill", start, end)[3:]
        env = harness._env(sandbox, workdir / "calls.duckdb", **harness.CALLHOUSE_OVERRIDES)
        result = harness.run_measured(argv, env=env, cwd=harness.REPO, log_dir=workdir / "logs", name="profile")
    if not result.ok:
        log(f"bench: profile run failed: {result.tail(5)}")
        return
    stats = pstats.Stats(str(out), stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    sys.exit(main())
