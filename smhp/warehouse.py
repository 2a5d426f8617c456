"""Opening the published warehouse for reading.

The published warehouse path is a symbolic link to one immutable snapshot file per run
(see ``smhp.publish``). Readers resolve the link at every open: the DuckDB Python client
keeps one database instance per path within a process, so connecting through the link
itself could keep serving a swapped-out snapshot (duckdb issue 15912). Never hold a
connection across runs; open, query, close.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


class WarehouseNotFound(FileNotFoundError):
    """There is no published warehouse at the given path (no run has published yet)."""


def resolve_published(path: Path | str) -> Path:
    """The snapshot file the published path points at now."""
    published = Path(path)
    if not published.exists():
        raise WarehouseNotFound(f"No published warehouse at {published}: run `smhp nightly` first.")
    return Path(os.path.realpath(published))


def open_published(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current published snapshot."""
    return duckdb.connect(str(resolve_published(path)), read_only=True)
