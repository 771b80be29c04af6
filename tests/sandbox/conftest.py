"""Sandboxes for the conformance tests: small volumes, no rate limits unless a test sets them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pendulum
import pytest

from pipelines.sandbox import Sandbox, SandboxConfig

# A Friday afternoon: both busy office hours and a quiet weekend lie in the history.
NOW = pendulum.datetime(2024, 5, 3, 15, 30, 0, tz="UTC")

SMALL = dict(
    seed=11,
    now=NOW,
    history_days=30,
    cinnox_calls_per_day=250,
    bandwidth_calls_per_day=200,
    genesys_dialogs_per_day=60,
    cinnox_rps=None,
    bandwidth_rps=None,
    genesys_rpm=None,
)


@pytest.fixture
def make_sandbox() -> Callable[..., Sandbox]:
    started: list[Sandbox] = []

    def make(**overrides: Any) -> Sandbox:
        sb = Sandbox(SandboxConfig(**{**SMALL, **overrides})).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture(scope="module")
def shared_sandbox() -> Sandbox:
    """For tests that only read: never move its clock or change its settings."""
    with Sandbox(SandboxConfig(**SMALL)) as sb:
        yield sb


@pytest.fixture
def client() -> httpx.Client:
    with httpx.Client(timeout=10) as c:
        yield c


def cinnox_get(
    client: httpx.Client, sb: Sandbox, token: str | None = None, app_id: str | None = None, **params: Any
) -> httpx.Response:
    creds = sb.credentials["cinnox"]
    headers = {"Authorization": f"Bearer {token if token is not None else creds['app_token']}"}
    return client.get(f"{sb.url}/v1/api/apps/{app_id or creds['app_id']}/data/call-detail", params=params, headers=headers)


def bandwidth_get(
    client: httpx.Client,
    sb: Sandbox,
    url: str | None = None,
    auth: tuple[str, str] | None = None,
    user_id: str | None = None,
    **params: Any,
) -> httpx.Response:
    creds = sb.credentials["bandwidth"]
    url = url or f"{sb.url}/v1/users/{user_id or creds['user_id']}/calls/"
    return client.get(url, params=params or None, auth=auth or (creds["api_token"], creds["api_secret"]))


def genesys_token(client: httpx.Client, sb: Sandbox) -> str:
    creds = sb.credentials["genesys"]
    r = client.post(
        f"{sb.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(creds["client_id"], creds["client_secret"])
    )
    r.raise_for_status()
    return r.json()["access_token"]


def genesys_get(client: httpx.Client, sb: Sandbox, path: str, token: str, **params: Any) -> httpx.Response:
    return client.get(f"{sb.url}{path}", params=params, headers={"Authorization": f"Bearer {token}"})


def iso(dt: pendulum.DateTime) -> str:
    return dt.in_tz("UTC").format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"
