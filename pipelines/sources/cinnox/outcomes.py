"""CINNOX call-detail `status` -> call outcome (vendor-apis.md §1): its rows of staging.outcome_map.
CINNOX does not say when a call was answered, so no row is narrowed by it."""

from pipelines.sources.vendor import Outcome

OUTCOMES = (
    Outcome("Call Ended", "answered", "connected and ended normally"),
    Outcome("Abandoned", "missed", "connected to IVR, voicemail or hold; the caller hung up before a person took it"),
    Outcome("Not Answered", "missed", "rang out (may have gone to voicemail)"),
    Outcome("Cancelled", "missed", "the caller hung up while it rang"),
    Outcome("Busy", "missed", "the callee was busy"),
    Outcome("Declined", "missed", "the callee declined"),
    Outcome("Unreachable", "failed", "the callee could not be reached (not found, offline)"),
    Outcome("Call Failed", "failed", "a network or service failure"),
)
