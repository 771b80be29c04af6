"""Bandwidth `state` -> call outcome (vendor-apis.md §2): its rows of staging.outcome_map.
Answered = activeTime is present."""

from pipelines.sources.vendor import Outcome

OUTCOMES = (
    Outcome("started", "active", "ringing"),
    Outcome("active", "active", "answered and in progress"),
    Outcome("transferring", "active", "being transferred"),
    Outcome("completed", "answered", "answered, then hung up", when_answered=True),
    Outcome("completed", "missed", "ended without being answered", when_answered=False),
    Outcome("rejected", "missed", "rejected before it was answered"),
)
