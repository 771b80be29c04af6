"""Run one measured path as a subprocess: wall time, CPU time and peak RSS of that process alone.

`os.wait4` gives the resource usage of exactly the child reaped, so several measured paths in one
benchmark run do not share a high-water mark (RUSAGE_CHILDREN would report the largest child so
far). Output goes to files, not pipes: a pipe nobody reads would stall a chatty child.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measured:
    argv: list[str]
    returncode: int
    wall_s: float
    cpu_s: float  # user + system, the child and any children it waited for
    peak_rss_mb: float
    written_mb: float  # block output the kernel charged to the child (page-cache writeback)
    # Context switches: voluntary ones are waits (I/O, locks, the server); involuntary ones are the
    # child being pre-empted, i.e. other load on the machine took its CPU.
    voluntary_switches: int
    involuntary_switches: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 15) -> str:
        return "\n".join((self.stdout + self.stderr).strip().splitlines()[-lines:])


def run_measured(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log_dir: Path,
    name: str,
    timeout_s: float = 7200,
    on_tick: Callable[[], None] | None = None,
    tick_s: float = 0.25,
) -> Measured:
    """`on_tick` is called about every `tick_s` while the child runs (e.g. to sample counters)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = started + timeout_s
        next_tick = started
        while True:
            if on_tick is not None and time.monotonic() >= next_tick:
                on_tick()
                next_tick += tick_s
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen not to wait again
    return Measured(
        argv=list(argv),
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
        written_mb=usage.ru_oublock * 512 / 1e6,
        voluntary_switches=usage.ru_nvcsw,
        involuntary_switches=usage.ru_nivcsw,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )
