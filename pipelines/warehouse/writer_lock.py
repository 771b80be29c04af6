"""One callhouse writer per warehouse: a lock file beside it that names the command holding it."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import WarehouseBusy


@contextmanager
def writer_lock(warehouse: Path, command: str, wait_s: float = 0.0) -> Iterator[None]:
    """Held while `command` writes; a second writer waits `wait_s`, then is told who holds it."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    handle = open(lock_path, "a+")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "another callhouse command"
                handle.close()
                raise WarehouseBusy(f"warehouse {warehouse} is in use by {holder}; retry later or pass --wait SECONDS") from None
            time.sleep(0.5)
    handle.seek(0)
    handle.truncate()
    handle.write(f"`callhouse {command}` (pid {os.getpid()})")
    handle.flush()
    try:
        yield
    finally:
        handle.seek(0)
        handle.truncate()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def current_writer(warehouse: Path) -> str | None:
    """The callhouse command holding the writer lock now (e.g. "`callhouse run` (pid 7)"), if any."""
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    if not lock_path.exists():
        return None
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            return handle.read().strip() or "another callhouse command"
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None
