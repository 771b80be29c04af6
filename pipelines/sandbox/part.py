"""What one vendor adds to the sandbox: every sandbox vendor package exports `PART`, a VendorPart,
and the sandbox finds them itself (`parts()`), so the shared modules name no vendor.

A part says where its API is mounted, how its fake credentials are made, how its store and
endpoint are built from the config, which settings point callhouse at it, and how the truth
reads it. Its config knobs (volumes, limits) are fields of SandboxConfig / Limits named
`<vendor>_...` (config.py).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines import JSON

from .faults import BadRecord

if TYPE_CHECKING:
    from . import Sandbox
    from .config import SandboxConfig
    from .runtime import Runtime
    from .wire import VendorApi

Credentials = dict[str, str]


@dataclass(frozen=True)
class VendorPart:
    name: str  # the vendor's name in the pipeline's registry (pipelines/sources/registry.py)
    prefixes: tuple[str, ...]  # URL path prefixes its endpoint answers
    # Fake credentials from a generator seeded per vendor; printing them is fine.
    credentials: Callable[[np.random.Generator], Credentials]
    # (config, first generated day, credentials) -> its store (each part's own class)
    store: Callable[[SandboxConfig, int, Credentials], Any]
    # (its store, credentials, runtime) -> its endpoint
    api: Callable[[Any, Credentials, Runtime], VendorApi]
    # (sandbox url, credentials) -> the SOURCES__<VENDOR>__* settings pointing callhouse at it
    env: Callable[[str, Credentials], dict[str, str]]
    # (sandbox, start_us, end_us, include_bad) -> what its API serves now, in time order
    records: Callable[[Sandbox, int, int, bool], list[dict[str, JSON]]]
    # (sandbox, start_us, end_us) -> its malformed records with the defect (Truth.bad_records)
    bad_records: Callable[[Sandbox, int | None, int | None], list[BadRecord]]
    truth_name: str  # the records getter's name on sb.truth: "cinnox_calls"
    # Where it is listed (env exports, stats): the pipeline registry's order, which the sandbox
    # cannot import.
    order: int
    # Further truth lookups by key: name -> (sandbox, key) -> value or None (404 over HTTP);
    # sb.truth.<vendor>_<name>(key) and GET /_sandbox/truth/<vendor>/<name>/<key>.
    lookups: Mapping[str, Callable[[Sandbox, str], Any]] = field(default_factory=dict)


@cache
def parts() -> tuple[VendorPart, ...]:
    """Every vendor package under pipelines/sandbox/ that exports PART, in their order."""
    found = []
    for info in pkgutil.iter_modules(_package_path()):
        if info.ispkg:
            module = importlib.import_module(f"{__package__}.{info.name}")
            part = getattr(module, "PART", None)
            if isinstance(part, VendorPart):
                found.append(part)
    return tuple(sorted(found, key=lambda p: (p.order, p.name)))


def _package_path() -> list[str]:
    return list(importlib.import_module(__package__).__path__)


def part(name: str) -> VendorPart:
    for p in parts():
        if p.name == name:
            return p
    raise ValueError(f"unknown vendor {name!r} (the sandbox serves {', '.join(p.name for p in parts())})")
