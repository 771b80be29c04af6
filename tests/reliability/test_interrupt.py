"""Ctrl-C (SIGINT) and SIGTERM stop the whole command within seconds, every time: committed
windows stay, the documented line is printed, exit 1, and the run log says so."""

from __future__ import annotations

import signal
import time

import pytest

from tests.conftest import TEST_NOW

LINE = "callhouse: interrupted; committed windows are kept, rerun to continue"
START, END = TEST_NOW.subtract(days=12), TEST_NOW.subtract(days=2)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_whole_backfill_within_seconds(make_sandbox, cli, sig):
    # Small pages and a little latency: the CINNOX backfill alone would take a minute.
    sandbox = make_sandbox(cinnox_calls_per_day=2000, bandwidth_calls_per_day=100, latency_ms=20)
    run = cli(sandbox, SOURCES__CINNOX__PAGE_LIMIT="50", SOURCES__CINNOX__CHECKPOINT_ROWS="5000")
    proc = run.start(
        "backfill", "--source", "cinnox", "--source", "bandwidth", "--start", START.isoformat(), "--end", END.isoformat()
    )
    lines = []
    for line in proc.stderr:
        lines.append(line.rstrip("\n"))
        if line.startswith("cinnox: window 3/"):
            break
    assert lines and lines[-1].startswith("cinnox: window 3/"), lines
    sent = time.monotonic()
    proc.send_signal(sig)
    _, rest = proc.communicate(timeout=60)
    stopped_after = time.monotonic() - sent
    lines += rest.splitlines()

    assert proc.returncode == 1, lines[-5:]
    assert lines[-1] == LINE, lines[-5:]
    assert stopped_after < 15, f"took {stopped_after:.1f} s to stop"
    assert not any(line.startswith("bandwidth:") for line in lines), "the next source must not start"
    assert not any("Traceback" in line or "SignalReceived" in line for line in lines)
    outcome = run.query("select outcome, message from callhouse.runs where source = 'cinnox'")
    assert outcome == [("interrupted", "interrupted (Ctrl-C or SIGTERM)")]
    # Committed windows stay: at least the windows logged before the signal were loaded.
    loaded = run.query("select count(*) from cinnox.call_detail")[0][0]
    assert loaded >= 3 * 2000 * 0.5
    state = run.source_state("cinnox")
    assert any(not plan["finished"] for plan in state["plans"].values())  # resumable
