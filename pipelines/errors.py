"""The errors the command line turns into one line and an exit code (contract: 1 failed, 2 usage)."""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CallhouseError(Exception):
    exit_code = EXIT_FAILED


class UsageError(CallhouseError):
    """Bad arguments or configuration: the user must change a command or a setting."""

    exit_code = EXIT_USAGE


class ConfigMissing(UsageError):
    def __init__(self, source: str, settings: list[str]):
        self.source = source
        self.settings = settings
        names = ", ".join(settings)
        super().__init__(f"{source}: not configured: set {names} (.dlt/secrets.toml or environment)")


class VendorError(CallhouseError):
    """The vendor answered with an error we cannot retry past, or retries ran out."""

    def __init__(self, vendor: str, message: str, status: int | None = None):
        self.vendor = vendor
        self.status = status  # the HTTP status when the vendor answered with an error
        super().__init__(f"{vendor}: {message}")


class VendorAuthError(VendorError):
    """The vendor rejected the credentials (exit 1: the setting exists but is wrong)."""


class WarehouseBusy(CallhouseError):
    pass


def one_line(error: BaseException | str, limit: int = 300) -> str:
    """An error as one line of at most `limit` characters, for output and the run log."""
    return " ".join(str(error).split())[:limit]


def root_error(exc: BaseException) -> BaseException:
    """The error that explains a failure: dlt wraps ours in PipelineStepFailed and friends."""
    import duckdb
    from dlt.common.exceptions import SignalReceivedException

    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, CallhouseError | KeyboardInterrupt | SignalReceivedException):
            return current
        if isinstance(current, duckdb.IOException) and "lock" in str(current).lower():
            return WarehouseBusy(
                f"the warehouse is open in another process: close that session and retry ({str(current).splitlines()[0][:160]})"
            )
        seen.add(id(current))
        current = current.__cause__ or current.__context__ or getattr(current, "exception", None)
    return exc
