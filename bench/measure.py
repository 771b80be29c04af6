"""Run one measured path as a subprocess: wall time, CPU time and peak RSS of that process alone.

The path is started by a small launcher process (`LAUNCHER`), which spawns it and reports its
`wait4` resource usage. Started straight from the benchmark, the path's peak RSS would never read
below the benchmark's own: Linux keeps a process's RSS high-water mark across `execve`, and
Python's subprocess starts children with vfork, whose memory until the exec is the parent's
(measured: a 400 MB parent made `python -c pass` report an 813 MB peak). The launcher is a fresh
interpreter of ~10 MB, so that is the floor a figure carries. `wait4` gives the usage of exactly
the child reaped, so several measured paths do not share a high-water mark. Output goes to
files, not pipes: a pipe nobody reads would stall a chatty child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Spawns argv[2:] (posix_spawn: no copy of the launcher), waits for it and writes its usage to
# the file argv[1]: returncode, wall s, user s, system s, peak RSS KiB, blocks written, voluntary
# and involuntary context switches. Isolated (-I -S): nothing but the interpreter is loaded.
LAUNCHER = """
import os, sys, time
started = time.monotonic()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - started
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    out.write(" ".join(map(str, (code, wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss, ru.ru_oublock, ru.ru_nvcsw, ru.ru_nivcsw))))
sys.exit(code if 0 <= code < 256 else 1)
"""


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
    usage_path = log_dir / f"{name}.usage"
    usage_path.unlink(missing_ok=True)
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(usage_path), *argv]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.monotonic()
        # A session of its own: a timeout kills the launcher and the path together.
        proc = subprocess.Popen(
            launcher, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = started + timeout_s
        next_tick = started
        while True:
            if on_tick is not None and time.monotonic() >= next_tick:
                on_tick()
                next_tick += tick_s
            if proc.poll() is not None:
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.02)
        wall = time.monotonic() - started
    try:
        code, wall_s, utime, stime, maxrss, oublock, nvcsw, nivcsw = usage_path.read_text().split()
    except (OSError, ValueError):  # killed, or the launcher failed before the path ran
        code, wall_s, utime, stime, maxrss, oublock, nvcsw, nivcsw = str(proc.returncode or -9), str(wall), *["0"] * 6
    return Measured(
        argv=list(argv),
        returncode=int(code),
        wall_s=float(wall_s),
        cpu_s=float(utime) + float(stime),
        peak_rss_mb=int(maxrss) / 1024,  # Linux reports KiB
        written_mb=int(oublock) * 512 / 1e6,
        voluntary_switches=int(nvcsw),
        involuntary_switches=int(nivcsw),
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )
