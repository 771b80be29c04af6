"""The privacy tests' sandbox: a month of every vendor at a small volume, with malformed records
(quarantine rows carry personal data too) and no rate limits."""

from __future__ import annotations

from pipelines.sandbox import Sandbox, SandboxConfig
from pipelines.sandbox.config import rate_limit_fields
from tests.conftest import TEST_NOW


def privacy_sandbox(seed: int) -> Sandbox:
    """Started; the caller's fixture stops it."""
    config = SandboxConfig(
        seed=seed,
        now=TEST_NOW,
        history_days=35,
        cinnox_calls_per_day=300,
        bandwidth_calls_per_day=300,
        genesys_dialogs_per_day=40,
        bad_record_rate=0.03,
        **dict.fromkeys(rate_limit_fields()),
    )
    return Sandbox(config).start()
