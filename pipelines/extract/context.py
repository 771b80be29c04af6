"""RunContext: what a run hands every dlt source besides its settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pendulum
import pyarrow as pa

from pipelines.extract.ledger import LoadRequest, SourceLedger
from pipelines.extract.lookahead import FetchWindow, Lookahead
from pipelines.extract.progress import Progress
from pipelines.extract.run_stats import RunStats
from pipelines.extract.walk import Checkpoint, WalkSettings, WindowWalk, default_nightly_start
from pipelines.fetch.records import TableSpec


@dataclass
class RunContext:
    """The request being loaded, the counters and progress output of this source run, and the
    lookahead that fetches the next checkpoint's windows (for sources that fetch ahead)."""

    request: LoadRequest
    stats: RunStats
    progress: Progress
    lookahead: Lookahead | None = None
    # Overrides the settings' checkpoint: a plain dlt source (pipelines/api.py) loads its whole
    # range in one pipeline.run, where callhouse's runner loads one checkpoint per run.
    checkpoint: Checkpoint | None = None
    # Pseudonymizes each page before dlt sees it (WindowWalk.pseudonymize); None: off.
    pseudonymize: Callable[[str, pa.Table], pa.Table] | None = None

    def walk(
        self,
        settings: WalkSettings,
        fetch_window: FetchWindow,
        tables: tuple[TableSpec, ...],
        *,
        nightly_start: Callable[[SourceLedger], pendulum.DateTime] | None = None,
        concurrency: int = 1,
        release: Callable[[], None] = lambda: None,
        ahead: bool = True,
    ) -> WindowWalk:
        """The window walk a source's resource yields from: this run's plan, that vendor's paging.
        `ahead=False`: this run's fetch_window touches dlt state, so it does not use the lookahead."""
        return WindowWalk(
            request=self.request,
            window_size=settings.window,
            nightly_start=nightly_start or self.nightly_start(settings),
            fetch_window=fetch_window,
            specs={spec.name: spec for spec in tables},
            stats=self.stats,
            progress=self.progress,
            checkpoint=self.checkpoint or settings.checkpoint,
            concurrency=concurrency,
            lookahead=self.lookahead if ahead else None,
            release=release,
            pseudonymize=self.pseudonymize,
        )

    def nightly_start(self, settings: WalkSettings) -> Callable[[SourceLedger], pendulum.DateTime]:
        """Cursor minus lookback; on the first run START_DATE (extract/walk.default_nightly_start)."""
        return default_nightly_start(self.request.end, settings.lookback, settings.start_date)
