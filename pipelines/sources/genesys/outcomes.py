"""Genesys dialogs -> call outcome: its rows of staging.outcome_map.

The status is the final SIP reply to the INVITE (the last one, after any auth challenge), the
latest provisional reply while there is no final one, or 'INVITE' when nothing replied yet. A
class row ('4xx') applies to a code no row names exactly.
"""

from pipelines.sources.vendor import Outcome

OUTCOMES = (
    Outcome("2xx", "answered", "answered, then a BYE", when_ended=True),
    Outcome("2xx", "active", "answered, no BYE yet", when_ended=False),
    Outcome("1xx", "active", "trying or ringing, no final reply yet"),
    Outcome("INVITE", "active", "INVITE sent, no reply yet"),
    Outcome("408", "missed", "Request Timeout: nobody answered in time"),
    Outcome("480", "missed", "Temporarily Unavailable: no answer"),
    Outcome("486", "missed", "Busy Here"),
    Outcome("487", "missed", "Request Terminated: the caller cancelled while it rang"),
    Outcome("600", "missed", "Busy Everywhere"),
    Outcome("603", "missed", "Decline"),
    Outcome("3xx", "failed", "redirected and not followed"),
    Outcome("4xx", "failed", "request failure (404 Not Found, 407 auth challenge never answered, ...)"),
    Outcome("5xx", "failed", "server failure (503 Service Unavailable, ...)"),
    Outcome("6xx", "failed", "global failure"),
)
