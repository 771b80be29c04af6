"""The sandbox as a whole: determinism, realistic volumes, the clock, the control API over HTTP,
injected records, start/stop and the foreground `serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pendulum
import pytest

from pipelines.sandbox import Sandbox, SandboxConfig

from .conftest import NOW, SMALL, bandwidth_get, cinnox_get, genesys_get, genesys_token, iso

REPO = Path(__file__).resolve().parents[2]


def bodies(client, sb) -> list[bytes]:
    token = genesys_token(client, sb)
    return [
        cinnox_get(client, sb, startAt=iso(NOW.subtract(days=2)), endAt=iso(NOW), limit=500).content,
        bandwidth_get(client, sb, size=1000).content,
        genesys_get(
            client, sb, "/api/v2/telephony/siptraces", token, dateStart=iso(NOW.subtract(days=1)), dateEnd=iso(NOW)
        ).content,
    ]


def test_the_same_seed_and_clock_serve_the_same_bytes(make_sandbox, client):
    a, b, other = make_sandbox(), make_sandbox(), make_sandbox(seed=12)
    assert a.url != b.url
    served = bodies(client, a)
    assert served == bodies(client, b)
    assert all(x != y for x, y in zip(served, bodies(client, other)))
    assert a.truth.cinnox_calls(NOW.subtract(days=2), NOW) == b.truth.cinnox_calls(NOW.subtract(days=2), NOW)


def test_daily_volumes_vary_around_the_configured_mean_with_quiet_weekends(shared_sandbox):
    days = [NOW.start_of("day").subtract(days=k) for k in range(1, 29)]
    counts = {d: len(shared_sandbox.truth.cinnox_calls(d, d.add(days=1))) for d in days}
    mean = sum(counts.values()) / len(counts)
    assert 0.8 * SMALL["cinnox_calls_per_day"] < mean < 1.2 * SMALL["cinnox_calls_per_day"]
    weekday = [c for d, c in counts.items() if d.day_of_week not in (pendulum.SATURDAY, pendulum.SUNDAY)]
    weekend = [c for d, c in counts.items() if d.day_of_week in (pendulum.SATURDAY, pendulum.SUNDAY)]
    assert max(weekend) < min(weekday)
    assert len(set(weekday)) > 5  # not the same number every day


def test_the_clock_is_frozen_until_moved(make_sandbox):
    sb = make_sandbox()
    assert sb.now() == NOW
    assert sb.advance(hours=6) == NOW.add(hours=6) == sb.now()
    assert sb.set_now(NOW.add(days=1)) == NOW.add(days=1)


def test_env_points_every_source_at_the_sandbox(shared_sandbox):
    env = shared_sandbox.env()
    assert set(env) == {
        "SOURCES__CINNOX__BASE_URL",
        "SOURCES__CINNOX__APP_ID",
        "SOURCES__CINNOX__APP_TOKEN",
        "SOURCES__BANDWIDTH__BASE_URL",
        "SOURCES__BANDWIDTH__USER_ID",
        "SOURCES__BANDWIDTH__API_TOKEN",
        "SOURCES__BANDWIDTH__API_SECRET",
        "SOURCES__GENESYS__BASE_URL",
        "SOURCES__GENESYS__LOGIN_URL",
        "SOURCES__GENESYS__CLIENT_ID",
        "SOURCES__GENESYS__CLIENT_SECRET",
    }
    assert {env[k] for k in env if k.endswith("_URL")} == {shared_sandbox.url}
    assert env["SOURCES__CINNOX__APP_TOKEN"] == shared_sandbox.credentials["cinnox"]["app_token"]


def test_the_control_api_exposes_clock_faults_truth_and_stats(make_sandbox, client):
    sb = make_sandbox()
    base = f"{sb.url}/_sandbox"
    assert pendulum.parse(client.get(f"{base}/clock").json()["now"]) == NOW
    moved = client.post(f"{base}/clock", json={"advance_s": 3600}).json()
    assert pendulum.parse(moved["now"]) == NOW.add(hours=1) == sb.now()
    client.post(f"{base}/clock", json={"now": NOW.isoformat()})
    assert sb.now() == NOW

    start, end = NOW.subtract(days=1), NOW
    truth = client.get(f"{base}/truth/cinnox", params={"start": start.isoformat(), "end": end.isoformat()})
    assert truth.json() == sb.truth.cinnox_calls(start, end) and truth.json()
    messages = client.get(f"{base}/truth/genesys", params={"start": start.isoformat(), "end": end.isoformat()}).json()
    conversation = next(m["conversationId"] for m in messages if m.get("conversationId"))
    headers = client.get(f"{base}/truth/genesys/headers/{conversation}").json()
    assert headers == sb.truth.genesys_headers(conversation)

    settings = client.post(f"{base}/faults", json={"error_5xx_rate": 1.0, "bandwidth_rps": 5}).json()
    assert settings["error_5xx_rate"] == 1.0 and sb.faults.error_5xx_rate == 1.0 and sb.limits.bandwidth_rps == 5
    assert cinnox_get(client, sb, limit=1).status_code >= 500
    assert client.post(f"{base}/faults", json={"no_such_knob": 1}).status_code == 400
    stats = client.get(f"{base}/stats").json()
    assert stats["cinnox"]["5xx"] == 1 and stats["cinnox"]["requests"] == 1
    client.post(f"{base}/stats/reset")
    assert sb.stats()["cinnox"]["requests"] == 0


def test_injected_calls_are_served_like_generated_ones(make_sandbox, client):
    sb = make_sandbox()
    boundary = NOW.subtract(days=1).start_of("day")
    template = sb.truth.cinnox_calls(NOW.subtract(days=2), NOW)[0]
    call = {
        **template,
        "id": "000000000000000000boundary",
        "callDate": iso(boundary),
        "callEndTime": iso(boundary.add(minutes=3)),
    }
    sb.add_cinnox_call(call)
    for start, end in ((boundary.subtract(days=1), boundary), (boundary, boundary.add(days=1))):
        page = cinnox_get(client, sb, startAt=iso(start), endAt=iso(end), limit=500).json()["result"]
        assert call in page

    leg = {
        "id": "c-" + "a" * 23,
        "direction": "in",
        "from": "+19195550000",
        "to": "+19195550100",
        "state": "completed",
        "startTime": iso(NOW.subtract(minutes=5)),
        "endTime": iso(NOW.subtract(minutes=1)),
        "chargeableDuration": 240,
    }
    sb.add_bandwidth_call(leg)
    assert bandwidth_get(client, sb, size=100).json().count(leg) == 1


def test_stop_cuts_kept_alive_connections(make_sandbox):
    sb = make_sandbox()
    with httpx.Client(timeout=2) as c:
        assert cinnox_get(c, sb, limit=1).status_code == 200
        sb.stop()
        with pytest.raises(httpx.TransportError):
            cinnox_get(c, sb, limit=1)


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_serve_prints_the_exports_and_stops_cleanly_on_ctrl_c():
    code = "from pipelines.sandbox import serve; serve(port=0, seed=3, history_days=2)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # As a terminal starts it: a test worker may be ignoring SIGINT for a moment (C's
        # system() does that while another thread's command runs), and a child inherits it.
        preexec_fn=default_sigint,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("callhouse sandbox on http://127.0.0.1:")
        exports = [proc.stdout.readline().strip() for _ in range(11)]
        assert exports[0].startswith("export SOURCES__CINNOX__BASE_URL=http://127.0.0.1:")
        url = exports[0].split("=", 1)[1]
        assert httpx.get(f"{url}/_sandbox/clock").status_code == 200
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err


def test_sandbox_is_a_context_manager_that_serves_on_a_free_port():
    with Sandbox(SandboxConfig(**SMALL)) as sb:
        assert sb.url.startswith("http://127.0.0.1:") and not sb.url.endswith(":0")
        assert httpx.get(f"{sb.url}/_sandbox/stats").status_code == 200
