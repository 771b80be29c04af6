"""The vendor-API sandbox: one loopback HTTP server that behaves like every vendor's API, over
deterministic data and a frozen clock.

    with Sandbox(SandboxConfig(seed=1)) as sb:
        env = sb.env()                      # point callhouse at it
        sb.advance(hours=6)                 # late calls appear, open calls complete
        sb.truth.records("cinnox", a, b)    # what the API serves now

Each vendor is a package here exporting PART (part.py), found by `parts()`: its quirks are in
the package docstring. `sb.stores[vendor]` is its store (`sb.<vendor>_store` reads the same) and
`sb.add_<vendor>_call(record)` injects a record where the store allows it.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import numpy as np
import pendulum

from .config import Faults, Limits, SandboxConfig, faults_from, limits_from, set_fields
from .control import ControlApi
from .data import DAY_MS, derive_seed, to_epoch_us
from .faults import FaultPlan
from .gateway import Gateway
from .part import VendorPart, parts
from .runtime import Clock, Runtime
from .server import HttpServer
from .stats import Stats, VendorCounts
from .truth import Instant, Truth
from .wire import VendorApi

__all__ = ["Sandbox", "SandboxConfig", "Faults", "Limits", "VendorPart", "parts", "serve"]


def demo_credentials(seed: int) -> dict[str, dict[str, str]]:
    """Fixed fake credentials per seed and vendor; printing them is fine."""
    return {p.name: p.credentials(np.random.default_rng(derive_seed(seed, "credentials", p.name))) for p in parts()}


class Sandbox:
    def __init__(self, config: SandboxConfig | None = None):
        cfg = dataclasses.replace(config or SandboxConfig())  # a copy: the caller's stays as it was
        self.config = cfg
        start = cfg.now if cfg.now is not None else pendulum.now("UTC").replace(microsecond=0)
        start_ms = to_epoch_us(start) // 1000
        self.runtime = Runtime(Clock(start_ms), faults_from(cfg, tuple(p.name for p in parts())), limits_from(cfg))
        first_day = (start_ms - cfg.history_days * DAY_MS) // DAY_MS
        self.credentials = demo_credentials(cfg.seed)
        self.stores: dict[str, Any] = {p.name: p.store(cfg, first_day, self.credentials[p.name]) for p in parts()}
        self.truth = Truth(self)
        self._stats = Stats()
        routes: list[tuple[str, VendorApi]] = []
        for p in parts():
            api = p.api(self.stores[p.name], self.credentials[p.name], self.runtime)
            routes.extend((prefix, api) for prefix in p.prefixes)
        self._gateway = Gateway(
            routes,
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
        """The SOURCES__* settings that point callhouse at every vendor here."""
        return {k: v for p in parts() for k, v in p.env(self.url, self.credentials[p.name]).items()}

    # --- clock ---

    def now(self) -> pendulum.DateTime:
        return self.runtime.clock.now()

    @property
    def now_ms(self) -> int:
        return self.runtime.clock.now_ms()

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
        return {name: store.generate_until(self.now_ms) for name, store in self.stores.items()}

    def __getattr__(self, attribute: str) -> Any:
        """`sb.<vendor>_store` is `sb.stores[vendor]`; `sb.add_<vendor>_call(record)` is that
        store's `add` where it has one (served as its store says), returning the record's id."""
        stores = self.__dict__.get("stores", {})
        if attribute.endswith("_store") and attribute[: -len("_store")] in stores:
            return stores[attribute[: -len("_store")]]
        if attribute.startswith("add_") and attribute.endswith("_call"):
            store = stores.get(attribute[len("add_") : -len("_call")])
            if store is not None and hasattr(store, "add"):
                return store.add
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attribute!r}")


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
