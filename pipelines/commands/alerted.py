"""A command wrapped with its alert: the work fills a CommandResult, the webhook gets it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pendulum
from dlt.common.exceptions import SignalReceivedException

from pipelines.commands.outcome import CommandResult
from pipelines.errors import CallhouseError, one_line, root_error
from pipelines.load.runner import apply_dlt_defaults
from pipelines.notify.webhook import alert_settings, notify
from pipelines.warehouse.choice import resolve_warehouse


def alerted(command: str, warehouse_arg: str | None, work: Callable[[CommandResult], None]) -> int:
    """The command's exit code, after `performed`."""
    return performed(command, warehouse_arg, work).exit_code


def performed(command: str, warehouse_arg: str | None, work: Callable[[CommandResult], None]) -> CommandResult:
    """Runs a command's work on a fresh result and posts the result to the webhook (a failure, or
    a success if asked). An error that stops the command is posted too, then raised (the CLI
    prints it as its one line)."""
    # dlt fixes its log level at the first setting it resolves (the alert settings here): callhouse's
    # defaults first (a caller may have set --debug's level before).
    apply_dlt_defaults()
    settings = alert_settings()  # a bad ALERTS__ setting is a usage error before any work
    started = time.monotonic()
    result = CommandResult(command, _described(warehouse_arg), pendulum.now("UTC"))
    try:
        work(result)
    except BaseException as exc:
        error = root_error(exc)
        interrupted = isinstance(error, KeyboardInterrupt | SignalReceivedException)
        result.error = "interrupted (Ctrl-C or SIGTERM)" if interrupted else f"callhouse: {one_line(error)}"
        if isinstance(error, CallhouseError):
            result.exit_code_on_error = error.exit_code
        result.duration_s = time.monotonic() - started
        notify(result, settings=settings)
        raise
    result.duration_s = time.monotonic() - started
    notify(result, settings=settings)
    return result


def _described(warehouse_arg: str | None) -> str:
    try:
        return resolve_warehouse(warehouse_arg).describe()
    except Exception:  # a bad warehouse setting: the command itself says so in a moment
        return "the configured warehouse (its settings are wrong)"
