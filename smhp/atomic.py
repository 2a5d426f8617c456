"""Writing a file so that a reader, or the next run after a crash, sees the old file or the
new one whole, never half of it: the run history, the alerts' state, an outbox message, a
packs manifest."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) beside ``path`` as a dot-file (which folder listings
    such as the outbox's skip), flush it to disk, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
