"""Sandbox settings: the fixed configuration, and the two groups a test may change at runtime.

A vendor's own knobs are fields named `<vendor>_...`: its volume (`..._per_day`, which `python -m
pipelines.sandbox` offers as an option) and its limits (`..._rps` / `..._rpm`, which
`--no-rate-limits` lifts); the rest of the sandbox reads them by name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar


@dataclass
class SandboxConfig:
    seed: int = 1
    # Frozen clock start; None = wall-clock now truncated to the second.
    now: dt.datetime | None = None
    history_days: int = 35
    cinnox_calls_per_day: int = 1500
    bandwidth_calls_per_day: int = 1000
    genesys_dialogs_per_day: int = 120
    genesys_result_cap: int = 100
    genesys_token_ttl_s: float = 3600
    genesys_retention_days: int = 21
    cinnox_rps: float | None = None
    bandwidth_rps: float | None = 1.0
    genesys_rpm: float | None = 300
    bandwidth_bare_links: bool = False
    bandwidth_ignores_sort_order: bool = False
    latency_ms: float = 0
    error_5xx_rate: float = 0.0
    rate_429_rate: float = 0.0
    drop_rate: float = 0.0
    html_200_rate: float = 0.0
    truncated_rate: float = 0.0
    non_json_rate: float = 0.0
    bad_record_rate: float = 0.0
    host: str = "127.0.0.1"
    port: int = 0


@dataclass
class Faults:
    """Per-request fault injection; the rates are exclusive shares of one draw, so they add up."""

    latency_ms: float = 0
    error_5xx_rate: float = 0.0
    rate_429_rate: float = 0.0
    drop_rate: float = 0.0
    html_200_rate: float = 0.0
    truncated_rate: float = 0.0
    non_json_rate: float = 0.0
    # Share of records served malformed; which records is fixed per record, so raising the
    # rate only adds bad records and the same seed always breaks the same ones.
    bad_record_rate: float = 0.0
    # Vendors the request faults apply to (bad_record_rate applies to all); the sandbox starts
    # with every vendor it serves.
    vendors: tuple[str, ...] = ()


@dataclass
class Limits:
    cinnox_rps: float | None = None
    bandwidth_rps: float | None = 1.0
    genesys_rpm: float | None = 300
    # Link headers as Bandwidth's SDK test mocks show them: `page` and `size` only (the real
    # API's default order for a request without sortOrder is descending).
    bandwidth_bare_links: bool = False
    # A server that answers every list request in descending order, whatever sortOrder says.
    bandwidth_ignores_sort_order: bool = False
    genesys_result_cap: int = 100
    genesys_token_ttl_s: float = 3600
    genesys_retention_days: int = 21


_Group = TypeVar("_Group", Faults, Limits)


def _pick(cls: type[_Group], cfg: SandboxConfig) -> _Group:
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in dataclasses.asdict(cfg).items() if k in names})


def faults_from(cfg: SandboxConfig, vendors: tuple[str, ...]) -> Faults:
    return dataclasses.replace(_pick(Faults, cfg), vendors=vendors)


def limits_from(cfg: SandboxConfig) -> Limits:
    return _pick(Limits, cfg)


def set_fields(target: SandboxConfig | Faults | Limits, values: Mapping[str, object]) -> list[str]:
    """Set the fields of `target` named in `values` (a control request's JSON, command-line
    settings); returns the names it did not know."""
    known = {f.name: f for f in dataclasses.fields(target)}
    unknown = []
    for name, value in values.items():
        if name not in known:
            unknown.append(name)
            continue
        setattr(target, name, tuple(value) if name == "vendors" and isinstance(value, list) else value)
    return unknown


def rate_limit_fields() -> tuple[str, ...]:
    """The vendors' rate limits (`<vendor>_rps`, `<vendor>_rpm`): None lifts one."""
    return tuple(f.name for f in dataclasses.fields(Limits) if f.name.endswith(("_rps", "_rpm")))
