"""Opening the published warehouse for reading.

The published warehouse path is a symbolic link to one immutable snapshot file per run
(see ``smhp.pipeline.publish``). Readers resolve the link at every open: the DuckDB Python client
keeps one database instance per path within a process, so connecting through the link
itself could keep serving a swapped-out snapshot (duckdb issue 15912). Callers never hold
a connection across runs: open, query, close.

A long-lived process that only reads (the dashboard server) may call ``hold_published``:
the database of each snapshot it reads then stays open in the process between queries,
and each ``open_published`` is a new connection to it (DuckDB's instance per path). Opening
a national-scale snapshot costs about 20 ms, more than most of the dashboard's queries; a
connection to an open database costs 0.1 ms. The link is still resolved at every open, so
the next query after a publish reads the new snapshot.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from datetime import date
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
    """A read-only connection to the current published snapshot (close it after use)."""
    snapshot = str(resolve_published(path))
    if _held.limit:
        _held.hold(snapshot)
    return duckdb.connect(snapshot, read_only=True)


class _Held:
    """The snapshots whose databases this process keeps open (``hold_published``): one
    read-only connection each, the most recently read last."""

    def __init__(self) -> None:
        self.limit = 0  # off
        self.anchors: OrderedDict[str, duckdb.DuckDBPyConnection] = OrderedDict()
        self.lock = threading.Lock()

    def hold(self, snapshot: str) -> None:
        with self.lock:
            if snapshot in self.anchors:
                self.anchors.move_to_end(snapshot)
                return
            self.anchors[snapshot] = duckdb.connect(snapshot, read_only=True)
            while len(self.anchors) > self.limit:
                # others' connections to it stay usable: the database closes with the last
                _, anchor = self.anchors.popitem(last=False)
                anchor.close()


_held = _Held()


def hold_published(snapshots: int = 2) -> None:
    """Keep the databases of the last ``snapshots`` snapshots read open in this process.

    For the dashboard server only: a long-lived process that never writes a warehouse
    (one process cannot open a file read-only and read-write at once, so a process that
    builds or changes warehouses must not hold them). Two by default: the current snapshot
    and the one before, which readers may still be querying during a publish; an older one
    is released as soon as a newer one is read, so the held file of a snapshot that
    retention deleted is freed by the next publishes.
    """
    if snapshots < 1:
        raise ValueError("hold at least one snapshot")
    _held.limit = snapshots


# --- how current the published data is -------------------------------------------------

_LATEST_EVENT_SQL = """
select max(d) from (
    select max(presented_on) as d from marts.fct_liaison_contacts
    union all select max(discussed_on) from marts.fct_case_discussions
    union all select max(referred_on) from marts.fct_referrals
    union all select max(first_appointment_on) from marts.fct_referrals
    union all select max(referred_on) from marts.fct_ucope_episodes
    union all select max(assessed_on) from marts.fct_ucope_episodes
    union all select max(discharged_on) from marts.fct_ucope_episodes
)
"""


def latest_extract(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest ``extract_date`` of any table that records one (e.g. the load log).

    The marts contract does not name such a table, so this looks for the column and
    returns ``None`` when the warehouse has none. Identifiers come from the catalog and are
    quoted; no value is formatted into SQL.
    """
    tables = con.execute(
        """
        select table_schema, table_name from information_schema.columns
        where column_name = 'extract_date'
          and data_type in ('DATE', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE')
        """
    ).fetchall()
    latest: date | None = None
    for schema, table in tables:
        quoted = '"{}"."{}"'.format(schema.replace('"', '""'), table.replace('"', '""'))
        (value,) = con.execute(f"select max(extract_date)::date from {quoted}").fetchone()
        if value is not None and (latest is None or value > latest):
            latest = value
    return latest


def latest_event(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest event date in the facts, over the whole partnership."""
    (value,) = con.execute(_LATEST_EVENT_SQL).fetchone()
    return value


def release_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The date the published data is as of: the latest extract date, else the latest
    event. Disclosed figures are released for periods ended by this date
    (``smhp.reporting.release_periods``), the same date on every page and output."""
    return latest_extract(con) or latest_event(con)
