"""The measured runs: a sandbox in its own process, then callhouse and each baseline as subprocesses
on the same data, each timed alone (wall, CPU, peak RSS) and checked against the sandbox's truth.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson

from bench.measure import Measured, run_measured
from bench.vendors import VENDORS

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# A fixed sandbox clock (a Friday, like the tests'): the same data on every run and machine.
NOW = datetime(2026, 11, 20, 6, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TABLES = VENDORS["cinnox"].tables
# Above this the dict baselines would exhaust the machine (~13 GB per 200k calls, dlt-notes.md).
DICT_BASELINE_MAX_CALLS = 200_000

Log = Callable[[str], None]

UNPACED = {"SOURCES__BANDWIDTH__REQUESTS_PER_SECOND": "0", "SOURCES__GENESYS__REQUESTS_PER_MINUTE": "0"}

# Settings added to every callhouse run (`python -m bench --callhouse-env KEY=VALUE`), for A/B runs
# of a setting such as SOURCES__CINNOX__CHECKPOINT_ROWS. A mode's own settings win.
CALLHOUSE_OVERRIDES: dict[str, str] = {}


def _quiet(_: str) -> None:
    pass


# --- the sandbox process ----------------------------------------------------------------------


class SandboxProcess:
    """`bench.sandbox_process` in a child process, driven by JSON lines over its stdin/stdout."""

    def __init__(
        self,
        *,
        calls_per_day: float,
        history_days: int,
        seed: int = 1,
        latency_ms: float = 0.0,
        cinnox_rps: float | None = None,
        now: datetime = NOW,
        log_dir: Path,
        vendor: str = "cinnox",
    ):
        """`calls_per_day`: records per day of `vendor` (the others serve none)."""
        spec = VENDORS[vendor]
        argv = [
            PYTHON,
            "-m",
            "bench.sandbox_process",
            "--seed",
            str(seed),
            "--now",
            now.isoformat(),
            "--history-days",
            str(history_days),
            "--calls-per-day",
            repr(float(calls_per_day) if vendor == "cinnox" else 0.0),
            *([] if vendor == "cinnox" else spec.sandbox_volume(calls_per_day)),
            "--latency-ms",
            repr(float(latency_ms)),
        ]
        if cinnox_rps:
            argv += ["--cinnox-rps", repr(float(cinnox_rps))]
        log_dir.mkdir(parents=True, exist_ok=True)
        self._stderr = open(log_dir / "sandbox.stderr", "wb")
        self.proc = subprocess.Popen(
            argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=_clean_env()
        )
        hello = self._read()
        self.url: str = hello["url"]
        # This sandbox has no rate limits (but --latency's CINNOX one): callhouse paces Bandwidth
        # and Genesys to their real limits by default, which would measure the limit, not the load.
        self.env: dict[str, str] = {**hello["env"], **UNPACED}
        self.now = datetime.fromisoformat(hello["now"])
        self.pid: int = hello["pid"]

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise RuntimeError(f"sandbox process exited ({self.proc.returncode}): {self._stderr_tail()}")
        reply = orjson.loads(line)
        if "error" in reply:
            raise RuntimeError(f"sandbox process: {reply['error']}")
        return reply

    def _stderr_tail(self) -> str:
        self._stderr.flush()
        return Path(self._stderr.name).read_text(errors="replace")[-2000:]

    def ask(self, cmd: str, **args: Any) -> dict[str, Any]:
        self.proc.stdin.write(orjson.dumps({"cmd": cmd, **args}) + b"\n")
        self.proc.stdin.flush()
        return self._read()

    def truth(
        self, start: datetime, end: datetime, window: timedelta = DAY, ndjson: Path | None = None, vendor: str = "cinnox"
    ) -> Truth:
        started = time.monotonic()
        reply = self.ask(
            "truth",
            vendor=vendor,
            start=start.isoformat(),
            end=end.isoformat(),
            window_s=int(window.total_seconds()),
            ndjson=str(ndjson) if ndjson else None,
        )
        return Truth(
            reply["calls"],
            reply["events"],
            reply["files"],
            reply["windows"],
            reply["min_requests"],
            time.monotonic() - started,
            reply.get("tables"),
        )

    def stats(self) -> dict[str, Any]:
        return self.ask("stats")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask_nowait("stop")
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()

    def ask_nowait(self, cmd: str) -> None:
        self.proc.stdin.write(orjson.dumps({"cmd": cmd}) + b"\n")
        self.proc.stdin.flush()
        self.proc.stdin.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Truth:
    calls: int
    events: int
    files: int
    windows: list[int]  # calls per window, in order
    min_requests: int | None  # CINNOX: sum of ceil(calls_per_window / 500); other vendors: None
    generate_s: float
    tables: dict[str, int] | None = None  # rows per warehouse table (None: CINNOX's three)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.tables) if self.tables else dict(zip(TABLES, (self.calls, self.events, self.files)))


# --- measured paths ---------------------------------------------------------------------------


@dataclass
class PathResult:
    name: str
    measured: Measured | None = None
    counts: dict[str, int] = field(default_factory=dict)  # rows per table, or records fetched
    sandbox_cpu_s: float | None = None
    requests: int | None = None  # as counted by the sandbox, when it says
    throttled: int | None = None  # 429s, as counted by the sandbox, when it says
    skipped: str = ""  # why it did not run
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.skipped and not self.error and self.measured is not None and self.measured.ok


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLHOUSE_"))}


def _env(sandbox: SandboxProcess, warehouse: Path | None, **extra: str) -> dict[str, str]:
    env = _clean_env()
    env.update(sandbox.env)
    env["CALLHOUSE_NOW"] = sandbox.now.isoformat()
    if warehouse is not None:
        env["CALLHOUSE_WAREHOUSE"] = str(warehouse)
    env.update(extra)
    return env


def _sandbox_counters(sandbox: SandboxProcess) -> tuple[float, int | None, int | None]:
    """(CPU seconds, CINNOX requests, CINNOX 429s) of the sandbox so far."""
    reply = sandbox.stats()
    requests, throttled = cinnox_request_counts(reply.get("stats"))
    return reply["cpu_s"], requests, throttled


def cinnox_request_counts(stats: Any) -> tuple[int | None, int | None]:
    """CINNOX requests and 429 replies from `Sandbox.stats()`, whatever shape it settles on:
    looks for a `cinnox` entry holding `requests` and a 429 / throttled count."""
    node = stats.get("cinnox") if isinstance(stats, dict) else None
    if not isinstance(node, dict):
        return None, None
    requests = node.get("requests")
    throttled = None
    for key in ("429", "status_429", "rate_limited", "throttled", "too_many_requests"):
        if key in node:
            throttled = node[key]
            break
    else:
        statuses = node.get("statuses") or node.get("status") or node.get("by_status")
        if isinstance(statuses, dict):
            throttled = statuses.get("429", statuses.get(429, 0))
    return (requests if isinstance(requests, int) else None), (throttled if isinstance(throttled, int) else None)


def measure_path(
    name: str,
    sandbox: SandboxProcess,
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    log_dir: Path,
    sample_requests: bool = False,
) -> PathResult:
    """With `sample_requests`, the sandbox's request count is sampled while the path runs, to
    tell the request rate while requests flow from the rate over the whole run."""
    cpu0, req0, thr0 = _sandbox_counters(sandbox)
    samples: list[tuple[float, int]] = []

    def sample() -> None:
        requests = cinnox_request_counts(sandbox.stats().get("stats"))[0]
        if requests is not None:
            samples.append((time.monotonic(), requests))

    measured = run_measured(argv, env=env, cwd=cwd, log_dir=log_dir, name=name, on_tick=sample if sample_requests else None)
    cpu1, req1, thr1 = _sandbox_counters(sandbox)
    result = PathResult(name, measured, sandbox_cpu_s=cpu1 - cpu0)
    if sample_requests:
        result.extra["request_rate_while_fetching"] = _rate_while_changing(samples)
    if req0 is not None and req1 is not None:
        result.requests = req1 - req0
    if thr0 is not None and thr1 is not None:
        result.throttled = thr1 - thr0
    if not measured.ok:
        result.error = f"exit {measured.returncode}: {measured.tail(5)}"
    return result


def _rate_while_changing(samples: list[tuple[float, int]]) -> float | None:
    """Requests per second between the first and the last sample at which the count moved."""
    moved = [i for i in range(1, len(samples)) if samples[i][1] != samples[i - 1][1]]
    if len(moved) < 2:
        return None
    first, last = samples[moved[0] - 1], samples[moved[-1]]
    return (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else None


def callhouse_argv(
    command: str, start: datetime | None = None, end: datetime | None = None, python: str = PYTHON, vendor: str = "cinnox"
) -> list[str]:
    argv = [python, "-m", "pipelines.cli", command, "--source", vendor]
    if command == "backfill":
        argv += ["--start", start.isoformat(), "--end", end.isoformat()]
    return argv


def run_callhouse(
    name: str,
    sandbox: SandboxProcess,
    warehouse: Path,
    log_dir: Path,
    command: str = "backfill",
    start: datetime | None = None,
    end: datetime | None = None,
    sample_requests: bool = False,
    python: str = PYTHON,
    vendor: str = "cinnox",
    **env: str,
) -> PathResult:
    """The real `callhouse` command, from the repository root as users run it (so
    .dlt/config.toml applies), into `warehouse`. `python`: another interpreter (another DuckDB,
    bench/duckdb_versions.py) runs the same code from the repository."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    if python != PYTHON:
        env = {"PYTHONPATH": str(REPO), **env}
    result = measure_path(
        name,
        sandbox,
        callhouse_argv(command, start, end, python, vendor),
        _env(sandbox, warehouse, **{**CALLHOUSE_OVERRIDES, **env}),
        REPO,
        log_dir,
        sample_requests=sample_requests,
    )
    result.extra.update(parse_summary(result.measured.stdout + result.measured.stderr, vendor))
    if warehouse.exists() and python == PYTHON:
        result.counts = count_rows(warehouse, vendor, VENDORS[vendor].tables)
        result.extra.update(pipeline_phases(warehouse, vendor))
    elif warehouse.exists():  # a file of another DuckDB version: read by that version
        result.counts = count_rows_with(python, warehouse)
    return result


def pipeline_phases(warehouse: Path, vendor: str = "cinnox") -> dict[str, Any]:
    """Seconds in extract / normalize / load of callhouse's last `pipeline.run` (dlt keeps only the
    last trace; a run split at checkpoints has several), and how many loads the run made."""
    try:
        import dlt

        from pipelines.warehouse.duckdb_file import DuckDBFile

        pipeline = dlt.attach(pipeline_name=f"callhouse_{vendor}", pipelines_dir=str(DuckDBFile(warehouse).pipelines_dir))
        trace = pipeline.last_trace
        phases = (
            {
                f"phase_{s.step}_s": (s.finished_at - s.started_at).total_seconds()
                for s in trace.steps
                if s.step in ("extract", "normalize", "load")
            }
            if trace
            else {}
        )
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            phases["loads"] = con.execute(f"select count(*) from {vendor}._dlt_loads").fetchone()[0]
        finally:
            con.close()
        return phases
    except Exception as exc:  # a figure we can do without
        return {"phases_error": f"{type(exc).__name__}: {exc}"}


def parse_summary(output: str, vendor: str = "cinnox") -> dict[str, int]:
    """Counts from callhouse's summary line `cinnox: ok, ...; 14 windows, 210 pages, 212 requests, ...`."""
    found: dict[str, int] = {}
    for line in output.splitlines():
        if line.startswith(f"{vendor}: ok"):
            for number, what in re.findall(r"(\d[\d,]*) (windows|pages|requests|throttled|retried|quarantined)\b", line):
                found[what] = int(number.replace(",", ""))
    return found


def count_rows(warehouse: Path, schema: str = "cinnox", tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return count_rows_in(con, schema, tables)
    finally:
        con.close()


def count_rows_in(con: duckdb.DuckDBPyConnection, schema: str = "cinnox", tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    present = {
        r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()
    }
    return {t: (con.execute(f'select count(*) from "{schema}"."{t}"').fetchone()[0] if t in present else 0) for t in tables}


def server_cpu_s(postmaster: int | None) -> float | None:
    """CPU seconds of a PostgreSQL server so far: the postmaster's, its live processes' (background
    workers, backends still open) and its reaped ones' (closed backends, which did the work of a
    client's queries). None when /proc cannot say."""
    if postmaster is None:
        return None
    ticks = os.sysconf("SC_CLK_TCK")

    def fields(pid: str) -> list[str]:  # /proc/<pid>/stat after the command name: state, ppid, ...
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    try:
        own = fields(str(postmaster))
        total = sum(int(v) for v in own[11:15])  # utime, stime, cutime, cstime
    except (OSError, ValueError, IndexError):
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            child = fields(pid)
            if int(child[1]) == postmaster:
                total += int(child[11]) + int(child[12])
        except (OSError, ValueError, IndexError):  # gone meanwhile: reaped, counted in cutime
            continue
    return total / ticks


def settled_server_cpu_s(postmaster: int | None) -> float | None:
    """server_cpu_s once a client's closed backends are reaped: the postmaster reaps them a moment
    after the client exits (until then a backend's CPU is in neither figure), so read until two
    readings half a second apart agree (at most 5 s)."""
    last = server_cpu_s(postmaster)
    for _ in range(10):
        time.sleep(0.5)
        now = server_cpu_s(postmaster)
        if now == last:
            break
        last = now
    return last


def run_callhouse_shared(
    kind: str, sandbox: SandboxProcess, workdir: Path, log_dir: Path, start: datetime, end: datetime, vendor: str = "cinnox"
) -> PathResult:
    """The same backfill into a shared warehouse on a throwaway PostgreSQL server on loopback (the
    tests' own, tests/support/postgres.py): `ducklake` (catalog there, data in a local folder) or
    `postgres` (the tables there). The server is a process of its own: its CPU and memory are not
    in callhouse's figures."""
    from pipelines.warehouse.ducklake import CATALOG_SETTING, STORAGE_SETTING, DuckLake, normalize_catalog, normalize_storage
    from pipelines.warehouse.postgres import CREDENTIALS_SETTING, PostgresWarehouse
    from tests.support.postgres import PostgresServer

    name = f"callhouse_{kind}"
    folder = workdir / name
    with PostgresServer() as server:
        url = server.create_database("bench")
        if kind == "ducklake":
            settings = {"WAREHOUSE__DESTINATION": "ducklake", CATALOG_SETTING: url, STORAGE_SETTING: str(folder / "data")}
            warehouse: Any = DuckLake(normalize_catalog(url), normalize_storage(str(folder / "data")), folder)
        else:
            settings = {"WAREHOUSE__DESTINATION": "postgres", CREDENTIALS_SETTING: url}
            warehouse = PostgresWarehouse(url, folder)
        server_cpu0 = settled_server_cpu_s(server.pid())
        result = run_callhouse(name, sandbox, folder / "calls.duckdb", log_dir, start=start, end=end, vendor=vendor, **settings)
        _add_server_cpu(result, server_cpu0, settled_server_cpu_s(server.pid()))
        con = warehouse.connect(read_only=True)
        try:
            result.counts = count_rows_in(con, vendor, VENDORS[vendor].tables)
        finally:
            con.close()
    return result


def _add_server_cpu(result: PathResult, before: float | None, after: float | None) -> None:
    if before is not None and after is not None:
        result.extra["server_cpu_s"] = after - before


def run_postgres_copy(ndjson: Path, workdir: Path, log_dir: Path, vendor: str = "cinnox") -> PathResult:
    """PostgreSQL's own bulk load of the same rows (bench/baseline_pgcopy.py), on a throwaway server
    of the same kind as `callhouse_postgres`'s (a fresh one, as that path gets), into a database of
    its own. The server's CPU and memory are not in the figures, as for callhouse's path."""
    from bench.baseline_pgcopy import URL_VARIABLE
    from tests.support.postgres import PostgresServer

    name = "postgres_copy"
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    argv = [PYTHON, "-m", "bench.baseline_pgcopy", "--ndjson", str(ndjson), "--vendor", vendor]
    with PostgresServer() as server:
        env = {**_clean_env(), "PYTHONPATH": str(REPO), URL_VARIABLE: server.create_database("copy")}
        server_cpu0 = settled_server_cpu_s(server.pid())
        measured = run_measured(argv, env=env, cwd=folder, log_dir=log_dir, name=name)
        result = PathResult(name, measured, sandbox_cpu_s=0.0)
        _add_server_cpu(result, server_cpu0, settled_server_cpu_s(server.pid()))
        if not measured.ok:
            result.error = f"exit {measured.returncode}: {measured.tail(5)}"
            return result
        result.extra.update(orjson.loads(measured.stdout.strip().splitlines()[-1]))
        result.counts = {
            table: int(server.psql(f'select count(*) from "{vendor}"."{table}"', "copy")) for table in VENDORS[vendor].tables
        }
    return result


def count_rows_with(python: str, warehouse: Path) -> dict[str, int]:
    """count_rows in another interpreter (DuckDB 1.5 cannot open a file DuckDB 2.0 wrote)."""
    script = "import sys, json; from pathlib import Path; from bench.harness import count_rows; print(json.dumps(count_rows(Path(sys.argv[1]))))"
    env = {**_clean_env(), "PYTHONPATH": str(REPO)}
    done = subprocess.run([python, "-c", script, str(warehouse)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"counting rows of {warehouse} with {python}: {done.stderr.strip()[-500:]}")
    return orjson.loads(done.stdout.strip().splitlines()[-1])


def run_fetch_only(sandbox: SandboxProcess, start: datetime, end: datetime, workdir: Path, log_dir: Path) -> PathResult:
    argv = [PYTHON, "-m", "bench.baseline_fetch", "--start", start.isoformat(), "--end", end.isoformat()]
    result = measure_path("fetch_only", sandbox, argv, _env(sandbox, None, PYTHONPATH=str(REPO)), workdir, log_dir)
    if result.measured.ok:
        reply = orjson.loads(result.measured.stdout.strip().splitlines()[-1])
        result.counts = {"call_detail": reply["records"]}
        result.extra["pages"] = reply["pages"]
    return result


def run_dlt_baseline(
    fmt: str, sandbox: SandboxProcess, start: datetime, end: datetime, workdir: Path, log_dir: Path, vendor: str = "cinnox"
) -> PathResult:
    name = f"dlt_dicts_{fmt}"
    warehouse = workdir / name / "typical.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        PYTHON,
        "-m",
        "bench.baseline_dlt",
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
        "--warehouse",
        str(warehouse),
        "--format",
        fmt,
        "--vendor",
        vendor,
    ]
    # From a scratch folder: a typical user's project has no callhouse .dlt/config.toml.
    result = measure_path(name, sandbox, argv, _env(sandbox, None, PYTHONPATH=str(REPO)), warehouse.parent, log_dir)
    if result.measured.ok:
        result.counts = count_rows(warehouse, vendor, VENDORS[vendor].tables)
    return result


def run_duckdb_baseline(ndjson: Path, workdir: Path, log_dir: Path, vendor: str = "cinnox") -> PathResult:
    warehouse = workdir / "duckdb_unnest" / "floor.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    argv = [PYTHON, "-m", "bench.baseline_duckdb", "--ndjson", str(ndjson), "--warehouse", str(warehouse), "--vendor", vendor]
    env = _clean_env()
    env["PYTHONPATH"] = str(REPO)
    measured = run_measured(argv, env=env, cwd=warehouse.parent, log_dir=log_dir, name="duckdb_unnest")
    result = PathResult("duckdb_unnest", measured, sandbox_cpu_s=0.0)
    if measured.ok:
        result.counts = count_rows(warehouse, "main", VENDORS[vendor].tables)
    else:
        result.error = f"exit {measured.returncode}: {measured.tail(5)}"
    return result


def warm_up(python: str) -> None:
    env = {**_clean_env(), "PYTHONPATH": str(REPO)}
    subprocess.run(
        [python, "-c", "import duckdb, pipelines.cli, pipelines.load.runner, pipelines.sources.cinnox"], cwd=REPO, env=env
    )


def run_imports_only(log_dir: Path) -> PathResult:
    """What starting `callhouse` costs before any work: the interpreter and the imports."""
    argv = [PYTHON, "-c", "import pipelines.cli, pipelines.load.runner, pipelines.sources.cinnox"]
    measured = run_measured(argv, env=_clean_env(), cwd=REPO, log_dir=log_dir, name="imports_only")
    return PathResult(
        "imports_only",
        measured,
        sandbox_cpu_s=0.0,
        error="" if measured.ok else f"exit {measured.returncode}: {measured.tail(5)}",
    )


# --- the three benchmark modes ----------------------------------------------------------------


@dataclass
class Throughput:
    requested_calls: int
    days: int
    start: datetime
    end: datetime
    truth: Truth
    paths: list[PathResult]
    notes: list[str] = field(default_factory=list)
    vendor: str = "cinnox"

    def path(self, name: str) -> PathResult | None:
        return next((p for p in self.paths if p.name == name), None)


# A later round of the DuckDB comparison: `callhouse_round2`, `callhouse_duckdb_2.0.0_round2`.
ROUND = re.compile(r"(callhouse(?:_duckdb_.+)?)_round(\d+)")
# Paths written for CINNOX alone, with why (the other vendors run the rest).
CINNOX_ONLY = {
    "fetch_only": "baseline_fetch.py pages CINNOX",
    "dlt_dicts_default": "the default loader needs ~13 GB per 200k calls; the parquet path is the one compared",
}
ALL_PATHS = (
    "callhouse",
    "callhouse_ducklake",
    "callhouse_postgres",
    "postgres_copy",
    "imports_only",
    "fetch_only",
    "dlt_dicts_default",
    "dlt_dicts_parquet",
    "duckdb_unnest",
)


def throughput(
    calls: int,
    days: int,
    workdir: Path,
    paths: tuple[str, ...] = ALL_PATHS,
    seed: int = 1,
    log: Log = _quiet,
    duckdb_versions: dict[str, str] | None = None,
    rounds: int = 1,
    vendor: str = "cinnox",
) -> Throughput:
    """N calls over `days` daily windows ending at the sandbox's midnight, loaded by every path.
    `duckdb_versions` (version -> Python with that DuckDB): callhouse again with each, right after
    the pinned one, each into its own warehouse (path `callhouse_duckdb_<version>`); with `rounds`
    above 1 the comparison is repeated, the order reversed every other round (paths `..._round<r>`),
    so that load on a shared machine falls on both sides."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_dir = workdir / "logs"
    end = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - days * DAY
    notes: list[str] = []
    spec = VENDORS[vendor]
    with SandboxProcess(calls_per_day=calls / days, history_days=days + 1, seed=seed, log_dir=log_dir, vendor=vendor) as sandbox:
        # The floor's source, and the COPY baseline's: the same records.
        ndjson = workdir / "records.ndjson" if {"duckdb_unnest", "postgres_copy"} & set(paths) else None
        log(
            f"  generating ~{calls:,} {spec.display} {spec.record} in the sandbox{' and writing NDJSON' if ndjson else ''} (not timed)"
        )
        truth = sandbox.truth(start, end, ndjson=ndjson, vendor=vendor)
        log(f"  {truth.calls:,} {spec.record}, {truth.rows:,} rows in {len(truth.windows)} windows ({truth.generate_s:.1f} s)")
        results: list[PathResult] = []
        versions = {f"callhouse_duckdb_{version}": python for version, python in (duckdb_versions or {}).items()}

        def run(name: str, fn: Callable[[], PathResult]) -> None:
            if name not in paths and name not in versions and not ROUND.fullmatch(name):
                return
            if vendor != "cinnox" and name in CINNOX_ONLY:
                note = f"{name} skipped: CINNOX only (bench/{CINNOX_ONLY[name]})"
                notes.append(note)
                results.append(PathResult(name, skipped=note))
                log(f"  {note}")
                return
            log(f"  {name} ...")
            result = fn()
            results.append(result)
            m = result.measured
            log(
                f"  {name}: {'ok' if result.ok else 'FAILED ' + result.error} "
                f"({m.wall_s:.1f} s wall, {m.cpu_s:.1f} s CPU, {m.peak_rss_mb:.0f} MB peak, "
                f"{m.involuntary_switches:,} pre-emptions)"
                if m
                else f"  {name}: {result.skipped}"
            )

        if versions:  # not timed: a fresh venv's first start reads its files from disk, the other's are cached
            for python in (PYTHON, *versions.values()):
                warm_up(python)
        run(
            "callhouse",
            lambda: run_callhouse(
                "callhouse", sandbox, workdir / "callhouse" / "calls.duckdb", log_dir, start=start, end=end, vendor=vendor
            ),
        )
        for kind in ("ducklake", "postgres"):
            run(
                f"callhouse_{kind}",
                lambda kind=kind: run_callhouse_shared(kind, sandbox, workdir, log_dir, start, end, vendor),
            )
        if ndjson is not None:  # right after callhouse_postgres: the two compared under the same load
            run("postgres_copy", lambda: run_postgres_copy(ndjson, workdir, log_dir, vendor))
            copy = next((p for p in results if p.name == "postgres_copy" and p.ok), None)
            if copy is not None:
                notes.append(
                    f"postgres_copy built the tables in DuckDB in {copy.extra['build_s']:.2f} s and copied them "
                    f"into PostgreSQL in {copy.extra['copy_s']:.2f} s (its own clock, without start-up)"
                )
        for name, python in versions.items():
            run(
                name,
                lambda name=name, python=python: run_callhouse(
                    name, sandbox, workdir / name / "calls.duckdb", log_dir, start=start, end=end, python=python
                ),
            )
        for r in range(2, rounds + 1) if versions else ():
            order = [("callhouse", PYTHON), *versions.items()]
            for base, python in reversed(order) if r % 2 == 0 else order:
                name = f"{base}_round{r}"
                run(
                    name,
                    lambda name=name, python=python: run_callhouse(
                        name, sandbox, workdir / name / "calls.duckdb", log_dir, start=start, end=end, python=python
                    ),
                )
        run("imports_only", lambda: run_imports_only(log_dir))
        run("fetch_only", lambda: run_fetch_only(sandbox, start, end, workdir, log_dir))
        for fmt in ("default", "parquet"):
            name = f"dlt_dicts_{fmt}"
            if name not in paths:
                continue
            if vendor != "cinnox" and name in CINNOX_ONLY:
                run(name, lambda name=name: PathResult(name))  # skipped, with its note
                continue
            if truth.calls > DICT_BASELINE_MAX_CALLS:
                note = (
                    f"{name} skipped: {truth.calls:,} calls is above {DICT_BASELINE_MAX_CALLS:,} "
                    f"(the default dict loader needs ~13 GB per 200k calls); see the 100k run"
                )
                notes.append(note)
                results.append(PathResult(name, skipped=note))
                log(f"  {note}")
                continue
            run(name, lambda fmt=fmt: run_dlt_baseline(fmt, sandbox, start, end, workdir, log_dir, vendor))
        if ndjson is not None:
            run("duckdb_unnest", lambda: run_duckdb_baseline(ndjson, workdir, log_dir, vendor))
            ndjson.unlink(missing_ok=True)
    return Throughput(calls, days, start, end, truth, results, notes, vendor)


@dataclass
class NightlyGrowth:
    history_calls: int
    history_days: int
    day_truth: Truth
    history_truth: Truth
    history_load: PathResult
    on_empty: PathResult
    on_full: PathResult

    @property
    def ratio(self) -> float | None:
        if not (self.on_empty.ok and self.on_full.ok):
            return None
        return self.on_full.measured.wall_s / self.on_empty.measured.wall_s


def nightly_growth(history_calls: int, history_days: int, workdir: Path, seed: int = 1, log: Log = _quiet) -> NightlyGrowth:
    """`callhouse run` over one day, on an empty warehouse and on one already holding
    `history_calls` calls (the days before it, loaded by backfill first, not part of the ratio).
    The nightly day has the same volume per day as the history."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_dir = workdir / "logs"
    day_end = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    day_start = day_end - DAY
    history_start = day_start - history_days * DAY
    per_day = history_calls / history_days
    nightly_env = {"CALLHOUSE_NOW": day_end.isoformat(), "SOURCES__CINNOX__START_DATE": day_start.isoformat()}
    with SandboxProcess(calls_per_day=per_day, history_days=history_days + 2, seed=seed, log_dir=log_dir) as sandbox:
        log(f"  generating ~{history_calls:,} calls of history + one day (not timed)")
        history_truth = sandbox.truth(history_start, day_start)
        day_truth = sandbox.truth(day_start, day_end)
        log(f"  history {history_truth.calls:,} calls over {history_days} days; nightly day {day_truth.calls:,} calls")
        full = workdir / "full" / "calls.duckdb"
        log("  loading the history (backfill) ...")
        history_load = run_callhouse("history_backfill", sandbox, full, log_dir, start=history_start, end=day_start)
        log(
            f"  history backfill: {'ok' if history_load.ok else 'FAILED ' + history_load.error} ({history_load.measured.wall_s:.1f} s)"
        )
        log("  nightly on the empty warehouse ...")
        on_empty = run_callhouse(
            "nightly_empty", sandbox, workdir / "empty" / "calls.duckdb", log_dir, command="run", **nightly_env
        )
        log(f"  nightly on empty: {on_empty.measured.wall_s:.1f} s")
        log("  nightly on the full warehouse ...")
        on_full = run_callhouse("nightly_full", sandbox, full, log_dir, command="run", **nightly_env)
        log(f"  nightly on full: {on_full.measured.wall_s:.1f} s")
    return NightlyGrowth(history_calls, history_days, day_truth, history_truth, history_load, on_empty, on_full)


@dataclass
class Latency:
    calls: int
    days: int
    latency_ms: float
    rate: float
    truth: Truth
    runs: list[PathResult]  # callhouse as configured, then with client-side pacing at the rate


def latency(
    calls: int, days: int, rate: float, workdir: Path, latency_ms: float = 100.0, seed: int = 1, log: Log = _quiet
) -> Latency:
    """callhouse against a slow, rate-limited CINNOX: requests/s sustained and 429s, first as
    configured (no client pacing by default: the 429s pace it), then with
    SOURCES__CINNOX__REQUESTS_PER_SECOND set to the limit."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_dir = workdir / "logs"
    end = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - days * DAY
    runs = []
    with SandboxProcess(
        calls_per_day=calls / days, history_days=days + 1, seed=seed, latency_ms=latency_ms, cinnox_rps=rate, log_dir=log_dir
    ) as sandbox:
        truth = sandbox.truth(start, end)
        log(f"  {truth.calls:,} calls, {truth.min_requests} requests at least; {latency_ms:.0f} ms latency, {rate:g} req/s limit")
        for name, env in (("as_configured", {}), ("paced", {"SOURCES__CINNOX__REQUESTS_PER_SECOND": repr(rate)})):
            log(f"  callhouse {name} ...")
            time.sleep(1.5)  # let the sandbox's token bucket refill between runs
            result = run_callhouse(
                f"latency_{name}",
                sandbox,
                workdir / name / "calls.duckdb",
                log_dir,
                start=start,
                end=end,
                sample_requests=True,
                **env,
            )
            runs.append(result)
            log(
                f"  {name}: {result.measured.wall_s:.1f} s, requests {result.requests or result.extra.get('requests')}, "
                f"429s {result.throttled if result.throttled is not None else result.extra.get('throttled')}"
            )
    return Latency(calls, days, latency_ms, rate, truth, runs)


def clean(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
