"""Where a secret is written: every file under a folder whose bytes hold it, raw or
percent-encoded (dlt's working files, its kept load packages and their exception files, the
pickled trace, a DuckDB file's uncompressed pages)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote


def files_holding(folder: Path, *secrets: str) -> list[str]:
    """The files under `folder` (relative paths) holding any of `secrets`."""
    needles = {form.encode() for secret in secrets if secret for form in (secret, quote(secret, safe=""))}
    assert needles, "no secret to look for"
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and any(needle in path.read_bytes() for needle in needles)
    )
