"""`python -m pipelines.notify.unit_failed UNIT`: the alert of systemd's OnFailure= unit
(deploy/systemd/callhouse-alert@.service) for runs that could not post their own.

systemd tells the OnFailure= unit how the failed unit ended (MONITOR_SERVICE_RESULT, _EXIT_CODE,
_EXIT_STATUS). An exit with callhouse's own codes 1 or 2 means callhouse ran to its end and posted
its message (with the failed sources and tests): nothing more is sent. Anything else (the
timeout's SIGTERM, a kill, out of memory, a crash) is posted here, once, as the same kind of JSON.
"""

from __future__ import annotations

import os
import socket
import sys

import pendulum

from pipelines.errors import EXIT_FAILED, EXIT_USAGE
from pipelines.notify.webhook import alert_settings, deliver

OWN_EXIT_STATUSES = {str(EXIT_FAILED), str(EXIT_USAGE)}


def unit_failure(unit: str, environ: dict[str, str]) -> dict[str, object] | None:
    """The message for the failed unit, or None when callhouse posted its own."""
    result = environ.get("MONITOR_SERVICE_RESULT", "")
    code, status = environ.get("MONITOR_EXIT_CODE", ""), environ.get("MONITOR_EXIT_STATUS", "")
    if result == "exit-code" and code == "exited" and status in OWN_EXIT_STATUSES:
        return None
    how = ", ".join(part for part in (result, code, status) if part) or "no details from systemd"
    line = f"{unit}: failed on {socket.gethostname()} ({how}); see `journalctl -u {unit}`"
    return {
        "text": f"callhouse: {line}",
        "command": unit,
        "status": "failed",
        "exit_code": None,
        "failures": [line],
        "rows": {},
        "duration_s": None,
        "warehouse": None,
        "started_at": pendulum.now("UTC").isoformat(),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m pipelines.notify.unit_failed UNIT", file=sys.stderr)
        return EXIT_USAGE
    settings = alert_settings()
    body = unit_failure(argv[0], dict(os.environ))
    if body is None or not settings.webhook_url:
        return 0
    return 0 if deliver(str(settings.webhook_url), body, settings, sys.stderr) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
