"""Crash soak, run by hand (`make soak`): SIGKILL a backfill at random moments, rerun, verify.

Each round starts a CINNOX backfill against a fresh sandbox with latency, kills it after a random
delay (anywhere in extract, normalize or load), kills the rerun too with probability 1/3, then
finishes it and checks that the rows equal the sandbox's truth with no duplicates and that the
nightly cursor was not touched. Prints one line per round and exits 1 on the first mismatch.

    .venv/bin/python -m tests.reliability.soak --rounds 30 --seed 1
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.sandbox import Sandbox, SandboxConfig
from tests.conftest import TEST_NOW, Cli
from tests.sources.test_cinnox import cinnox_state, counts, truth_tables, warehouse_tables

START = TEST_NOW.start_of("day").subtract(days=6)
END = START.add(days=4)
BACKFILL = ["backfill", "--source", "cinnox", "--start", START.to_date_string(), "--end", END.to_date_string()]


def _kill_after(args: list[str], env: dict[str, str], cwd: Path, delay: float) -> bool:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def soak_round(rng: random.Random, workdir: Path) -> str:
    sandbox = Sandbox(
        SandboxConfig(seed=rng.randrange(1000), now=TEST_NOW, cinnox_calls_per_day=1500, latency_ms=rng.choice([0, 10, 30]))
    ).start()
    try:
        run = Cli(sandbox, workdir, {"SOURCES__CINNOX__CHECKPOINT_ROWS": str(rng.choice([1, 1500, 4000]))})
        env = {
            **os.environ,
            **sandbox.env(),
            **run.env,
            "CALLHOUSE_WAREHOUSE": str(run.warehouse),
            "CALLHOUSE_NOW": sandbox.now().isoformat(),
        }
        kills = []
        for _ in range(1 + (rng.random() < 1 / 3)):
            delay = rng.uniform(0.8, 6.0)
            if _kill_after(BACKFILL, env, workdir, delay):
                kills.append(f"{delay:.2f}s")
        final = run(*BACKFILL)
        if final.returncode != 0:
            return f"FAIL rerun exit {final.returncode}: {final.stderr.strip()[-300:]}"
        truth = truth_tables(sandbox, START, END)
        if warehouse_tables(run) != truth or counts(run) != tuple(len(t) for t in truth):
            return f"FAIL rows differ after kills at {kills}"
        if cinnox_state(run).get("cursor") is not None:
            return "FAIL backfill moved the cursor"
        return f"ok   killed at {kills or ['(finished first)']}, {counts(run)[0]:,} calls"
    finally:
        sandbox.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description="SIGKILL soak for callhouse backfills")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for index in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory() as tmp:
            line = soak_round(rng, Path(tmp))
        print(f"round {index:3d}: {line}", flush=True)
        if line.startswith("FAIL"):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
