"""The errors the command line turns into one line and an exit code (see contract: 1 load, 2 usage)."""


class CallhouseError(Exception):
    exit_code = 1


class UsageError(CallhouseError):
    """Bad arguments or configuration: the user must change a command or a setting."""

    exit_code = 2


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
