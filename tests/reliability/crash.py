"""Killing a real `callhouse` process with SIGKILL at a chosen phase of a chosen load.

The phase is read from outside, the way an operator would see it: the sandbox's request count
(pages being fetched = extract) and dlt's working folders (`load/new/<id>` = normalize,
`load/normalized/<id>` with started or completed jobs = load). No hook in the product code.

Some phases last a few milliseconds (a package sits in `load/new` only while it is normalized),
short enough for a busy machine not to schedule the watcher inside them. From the load before the
chosen one on, the process is therefore run in short slices and stopped (SIGSTOP) while its
folders are read: a phase that spans a stop cannot be missed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PHASES = ("extract", "extracted", "normalize", "load-start", "load-mid", "load-late")
SLICE_S = 0.0005  # how long the process runs between two looks, once it is stepped


@dataclass
class PackageView:
    load_id: str
    stage: str  # extracted | new | normalized
    new: int = 0
    started: int = 0
    completed: int = 0


def _count(path: Path) -> int:
    try:
        return len(os.listdir(path))
    except OSError:
        return 0


def packages(pipeline_dir: Path) -> list[PackageView]:
    views = []
    for stage, folder in (("extracted", "normalize/extracted"), ("new", "load/new"), ("normalized", "load/normalized")):
        base = pipeline_dir / folder
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            path = base / name
            if path.is_dir():
                views.append(
                    PackageView(
                        name, stage, _count(path / "new_jobs"), _count(path / "started_jobs"), _count(path / "completed_jobs")
                    )
                )
    return views


def matches(phase: str, views: list[PackageView]) -> bool:
    stages = {v.stage for v in views}
    normalized = [v for v in views if v.stage == "normalized"]
    if phase == "extracted":
        return stages == {"extracted"} and any(v.new for v in views)
    if phase == "normalize":
        return "new" in stages
    if phase == "load-start":
        return any(v.completed == 0 for v in normalized) and "new" not in stages
    if phase == "load-mid":
        return any(v.completed >= 1 and (v.new or v.started) for v in normalized)
    if phase == "load-late":  # every job done, the package not yet loaded: it is being published
        return any(v.completed >= 1 and not v.new and not v.started for v in normalized)
    raise ValueError(phase)


def run_and_kill(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    pipeline_dir: Path,
    phase: str,
    package: int,
    sandbox,
    pages_per_load: int,
    timeout: float = 90.0,
) -> bool:
    """Start `callhouse args`, SIGKILL it at `phase` of its `package`-th load; True if killed there."""
    sandbox.reset_stats()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if phase == "extract":
                served = sum(v.get("requests", 0) for v in sandbox.stats().values() if isinstance(v, dict))
                if served >= (package - 1) * pages_per_load + max(1, pages_per_load // 2):
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    return True
            else:
                stepped = len(seen) >= package - 1 and _stop(proc.pid)
                views = packages(pipeline_dir)
                for view in views:
                    if view.load_id not in seen:
                        seen.append(view.load_id)
                current = [v for v in views if seen.index(v.load_id) == package - 1]
                if current and matches(phase, current):
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    return True
                if stepped:
                    os.kill(proc.pid, signal.SIGCONT)
                    time.sleep(SLICE_S)
                    continue
            time.sleep(0.001)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _stop(pid: int) -> bool:
    """SIGSTOP the process and wait until all of it has stopped; False if it has exited."""
    try:
        os.kill(pid, signal.SIGSTOP)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                state = stat.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            return False
        if state in (b"T", b"t", b"Z", b"X"):
            return state in (b"T", b"t")
        time.sleep(0.0001)
    return True
