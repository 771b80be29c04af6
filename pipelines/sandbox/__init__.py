"""The vendor-API sandbox: one loopback HTTP server that behaves like CINNOX, Bandwidth and
Genesys Cloud, over deterministic data and a frozen clock.

    with Sandbox(SandboxConfig(seed=1)) as sb:
        env = sb.env()              # point callhouse at it
        sb.advance(hours=6)         # late CINNOX calls appear, active Bandwidth calls complete
        sb.truth.cinnox_calls(a, b) # what the API serves now

Where each vendor's quirks live: cinnox.py, bandwidth.py, genesys.py (module docstrings).
"""

from __future__ import annotations

import base64
import dataclasses
import threading

import numpy as np
import pendulum

from pipelines import JSON

from .bandwidth import BandwidthApi, BandwidthStore
from .cinnox import CinnoxApi, CinnoxStore
from .config import Faults, Limits, SandboxConfig, faults_from, limits_from, set_fields
from .control import ControlApi
from .data import DAY_MS, derive_seed, hex_ids, to_epoch_us, uuids
from .faults import FaultPlan
from .gateway import Gateway
from .genesys import GenesysApi, GenesysStore
from .runtime import Clock, Runtime
from .server import HttpServer
from .stats import Stats, VendorCounts
from .truth import Instant, Truth

__all__ = ["Sandbox", "SandboxConfig", "Faults", "Limits", "serve"]


def demo_credentials(seed: int) -> dict[str, dict[str, str]]:
    """Fixed fake credentials per seed; printing them is fine."""
    rng = np.random.default_rng(derive_seed(seed, "credentials"))
    h = hex_ids(rng, 6, 16)
    return {
        "cinnox": {"app_id": f"app-{h[0][:12]}", "app_token": f"cnx-demo-{h[1]}"},
        "bandwidth": {"user_id": f"u-{h[2][:20]}", "api_token": f"t-{h[3][:24]}", "api_secret": h[4]},
        "genesys": {
            "client_id": uuids(rng, 1)[0],
            "client_secret": base64.urlsafe_b64encode(bytes.fromhex(h[5] + h[0])).decode().rstrip("="),
        },
    }


class Sandbox:
    def __init__(self, config: SandboxConfig | None = None):
        cfg = dataclasses.replace(config or SandboxConfig())  # a copy: the caller's stays as it was
        self.config = cfg
        start = cfg.now if cfg.now is not None else pendulum.now("UTC").replace(microsecond=0)
        start_ms = to_epoch_us(start) // 1000
        self.runtime = Runtime(Clock(start_ms), faults_from(cfg), limits_from(cfg))
        first_day = (start_ms - cfg.history_days * DAY_MS) // DAY_MS
        self.credentials = demo_credentials(cfg.seed)
        c, b, g = self.credentials["cinnox"], self.credentials["bandwidth"], self.credentials["genesys"]
        self.cinnox_store = CinnoxStore(cfg.seed, first_day, cfg.cinnox_calls_per_day)
        self.bandwidth_store = BandwidthStore(cfg.seed, first_day, cfg.bandwidth_calls_per_day, b["user_id"])
        self.genesys_store = GenesysStore(cfg.seed, first_day, cfg.genesys_dialogs_per_day)
        self.truth = Truth(self)
        self._stats = Stats()
        self._gateway = Gateway(
            [
                ("/v1/api/apps/", CinnoxApi(self.cinnox_store, c["app_id"], c["app_token"], self.runtime)),
                ("/v1/users/", BandwidthApi(self.bandwidth_store, b["user_id"], b["api_token"], b["api_secret"], self.runtime)),
                ("/oauth/", genesys := GenesysApi(self.genesys_store, g["client_id"], g["client_secret"], self.runtime)),
                ("/api/v2/", genesys),
            ],
            ControlApi(self),
            self.runtime,
            FaultPlan(self.runtime.faults, cfg.seed),
            self._stats,
        )
        self._server: HttpServer | None = None
        self._url: str | None = None

    # --- lifecycle ---

    def start(self) -> Sandbox:
        if self._server is None:
            self._server = HttpServer(self.config.host, self.config.port, self._gateway)
            self._server.start_background()
            self._url = self._server.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL of all three vendors (still the last one after stop())."""
        if self._url is None:
            raise RuntimeError("the sandbox has not been started")
        return self._url

    def env(self) -> dict[str, str]:
        c, b, g = self.credentials["cinnox"], self.credentials["bandwidth"], self.credentials["genesys"]
        return {
            "SOURCES__CINNOX__BASE_URL": self.url,
            "SOURCES__CINNOX__APP_ID": c["app_id"],
            "SOURCES__CINNOX__APP_TOKEN": c["app_token"],
            "SOURCES__BANDWIDTH__BASE_URL": self.url,
            "SOURCES__BANDWIDTH__USER_ID": b["user_id"],
            "SOURCES__BANDWIDTH__API_TOKEN": b["api_token"],
            "SOURCES__BANDWIDTH__API_SECRET": b["api_secret"],
            "SOURCES__GENESYS__BASE_URL": self.url,
            "SOURCES__GENESYS__LOGIN_URL": self.url,
            "SOURCES__GENESYS__CLIENT_ID": g["client_id"],
            "SOURCES__GENESYS__CLIENT_SECRET": g["client_secret"],
        }

    # --- clock ---

    def now(self) -> pendulum.DateTime:
        return self.runtime.clock.now()

    def advance(self, *, days: int = 0, hours: int = 0, minutes: int = 0, seconds: float = 0) -> pendulum.DateTime:
        return self.runtime.clock.advance(days=days, hours=hours, minutes=minutes, seconds=seconds)

    def set_now(self, when: Instant) -> pendulum.DateTime:
        return self.runtime.clock.set_now(when)

    # --- knobs and counters ---

    @property
    def faults(self) -> Faults:
        return self.runtime.faults

    @property
    def limits(self) -> Limits:
        return self.runtime.limits

    def stats(self) -> dict[str, VendorCounts]:
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()

    # --- data ---

    def warm(self) -> dict[str, int]:
        """Generate every day up to now (otherwise done lazily on first use); returns counts."""
        now = self.runtime.clock.now_ms()
        return {
            "cinnox": self.cinnox_store.generate_until(now),
            "bandwidth": self.bandwidth_store.generate_until(now),
            "genesys": self.genesys_store.generate_until(now),
        }

    def add_cinnox_call(self, record: dict[str, JSON]) -> str:
        """Serve `record` as a CINNOX call once its callEndTime has passed; returns its id."""
        return self.cinnox_store.add(record)

    def add_bandwidth_call(self, record: dict[str, JSON]) -> str:
        """Serve `record` as a Bandwidth call from its startTime on, as given; returns its id."""
        return self.bandwidth_store.add(record)


def serve(port: int = 8765, seed: int = 1, warm: bool = False, **config_overrides: object) -> None:
    """Serve in the foreground until Ctrl-C, after printing the URL and the env exports (once
    the URL line is out, the sandbox answers). warm=True generates the whole history first."""
    config = SandboxConfig(seed=seed, port=port)
    unknown = set_fields(config, config_overrides)
    if unknown:
        raise TypeError(f"unknown sandbox settings: {', '.join(unknown)}")
    sb = Sandbox(config)
    if warm:
        sb.warm()
    sb.start()
    try:
        print(
            f"callhouse sandbox on {sb.url} (seed {seed}, clock {sb.now().isoformat()}); Ctrl-C stops it. "
            "To point callhouse at it:",
            flush=True,
        )
        for key, value in sb.env().items():
            print(f"export {key}={value}", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
