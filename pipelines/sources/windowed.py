"""The settings every windowed source takes, declared once as a dlt configspec.

Each vendor's settings class extends `WindowedSourceSettings` with its own fields and defaults
(pipelines/sources/<vendor>/settings.py) and its `@dlt.source` takes it as `spec=`, so dlt reads
them as before: `SOURCES__<VENDOR>__<FIELD>` (or `[sources.<vendor>]` in `.dlt/*.toml`), secrets
from the secrets providers. The checks shared by every source live here too, each error naming
the setting users set.
"""

from __future__ import annotations

from typing import ClassVar

import dlt
from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration

from pipelines.extract.walk import Checkpoint, WalkSettings
from pipelines.fetch.retry import RetryPolicy
from pipelines.settings import base_url as checked_url
from pipelines.settings import setting_name, whole_number


@configspec
class WindowedSourceSettings(BaseConfiguration):
    # The vendor's API root (a sandbox URL in tests); each vendor sets its default, if it has one.
    base_url: str = dlt.config.value  # required (dlt: no default)
    # The first nightly run's start (ISO-8601); default: 30 days back.
    start_date: str | None = None
    # How far behind the cursor each nightly run starts again, and the walk's window size
    # (durations: "2d", "1h"); each vendor sets its defaults.
    lookback: str = dlt.config.value  # required (dlt: no default)
    window: str = dlt.config.value  # required (dlt: no default)
    max_retries: int = 8
    checkpoint_rows: int = Checkpoint.rows
    checkpoint_seconds: float = Checkpoint.seconds

    SOURCE: ClassVar[str] = ""  # the vendor's name: its settings section

    def name(self, field: str) -> str:
        """A setting as users write it: SOURCES__CINNOX__APP_TOKEN."""
        return setting_name("sources", self.SOURCE, field)

    def walk(self) -> WalkSettings:
        return WalkSettings.parse(
            self.SOURCE, self.window, self.lookback, self.start_date, self.checkpoint_rows, self.checkpoint_seconds
        )

    def retry(self) -> RetryPolicy:
        return RetryPolicy(max_retries=whole_number(self.max_retries, self.name("max_retries"), low=0))

    def api_url(self) -> str:
        return checked_url(self.base_url, self.name("base_url"))
