"""`ALERTS__WEBHOOK_URL`: one JSON message per failed (or, if asked, successful) command.

The message is JSON with a Slack-compatible `text` field, so the URL can be a Slack or Teams
incoming webhook, or any receiver that reads JSON. Delivery is retried a few times with a short
timeout; a delivery that still fails is one line on stderr and changes nothing else: the command
has already committed its data and keeps its exit code.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TextIO

import httpx
from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

from pipelines.errors import one_line, redact_secrets, register_secret
from pipelines.fetch.redaction import strip_signatures_in_text
from pipelines.settings import resolve, setting_name


class CommandOutcome(Protocol):
    """What a webhook message tells of a command: a CommandResult (pipelines.commands.outcome,
    a layer above this one)."""

    command: str
    warehouse: str
    started_at: datetime
    checks_run: bool
    failed_checks: list[str]
    duration_s: float

    @property
    def rows(self) -> dict[str, int]: ...
    @property
    def failures(self) -> list[str]: ...
    @property
    def exit_code(self) -> int: ...
    @property
    def ok(self) -> bool: ...


SECTION = "alerts"


@configspec
class AlertSettings(BaseConfiguration):
    # Where to post (a secret: Slack's and Teams' webhook URLs grant posting to anyone holding them).
    webhook_url: TSecretStrValue | None = None
    # Also post when the command succeeded (a heartbeat a dead-man's switch can watch).
    on_success: bool = False
    # Seconds to wait for the receiver per try, and how many tries in all.
    timeout: float = 5.0
    tries: int = 3


def alert_settings() -> AlertSettings:
    settings = resolve(AlertSettings(), SECTION)
    if settings.webhook_url:
        register_secret(str(settings.webhook_url))  # never in an error line, the run log or a message
    return settings


def message(result: CommandOutcome) -> dict[str, object]:
    """The JSON posted for a CommandResult (pipelines.commands.outcome): every value redacted."""
    failures = [_clean(line) for line in result.failures]
    status = "ok" if not failures else "failed"
    rows = result.rows
    summary = f"callhouse {result.command}: {status.upper()} on {result.warehouse}"
    detail = f"{sum(rows.values()):,} rows loaded" if rows else "no rows loaded"
    if result.checks_run:
        detail += f", {len(result.failed_checks)} data test(s) failed"
    detail += f", {result.duration_s:.0f}s"
    text = "\n".join([f"{summary} ({detail})", *(f"• {line}" for line in failures)])
    return {
        "text": _clean(text),
        "command": f"callhouse {result.command}",
        "status": status,
        "exit_code": result.exit_code,
        "failures": failures,
        "rows": rows,
        "duration_s": round(result.duration_s, 3),
        "warehouse": _clean(result.warehouse),
        "started_at": result.started_at.isoformat(),
    }


def _clean(text: str) -> str:
    return strip_signatures_in_text(redact_secrets(text))


def notify(result: CommandOutcome, err: TextIO | None = None, settings: AlertSettings | None = None) -> bool | None:
    """Posts the result's message if a webhook is set and the result calls for one. True when
    delivered, False when every try failed (said on stderr), None when nothing was to be sent."""
    settings = settings or alert_settings()
    if not settings.webhook_url or (result.ok and not settings.on_success):
        return None
    return deliver(str(settings.webhook_url), message(result), settings, err or sys.stderr)


def deliver(
    url: str, body: dict[str, object], settings: AlertSettings, err: TextIO, sleep: Callable[[float], None] = time.sleep
) -> bool:
    tries = max(1, int(settings.tries))
    problem = ""
    with httpx.Client(timeout=httpx.Timeout(float(settings.timeout))) as client:
        for attempt in range(1, tries + 1):
            try:
                response = client.post(url, json=body)
                if response.is_success:
                    return True
                problem = f"HTTP {response.status_code}"
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                problem = one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, 160)
            if attempt < tries:
                sleep(min(0.5 * 2 ** (attempt - 1), 4.0))  # 0.5s, 1s, 2s: a receiver restarting gets a moment
    err.write(
        f"callhouse: alert not delivered to {_shown(url)} ({_clean(problem)} after {tries} tries; "
        f"check {setting_name(SECTION, 'webhook_url')}); the command's own result stands\n"
    )
    err.flush()
    return False


def _shown(url: str) -> str:
    """Scheme and host only: the path of a Slack or Teams webhook is its secret."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "the webhook"
    return f"{parsed.scheme}://{parsed.host}{f':{parsed.port}' if parsed.port else ''}/..."
