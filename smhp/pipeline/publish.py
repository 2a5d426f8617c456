"""Write-audit-publish of the warehouse file.

The published path (``--warehouse FILE``) is a symbolic link to one immutable snapshot
per successful run. A run builds a *candidate* (a copy of the current snapshot, so the
raw layer carries over), and only a candidate that loaded and passed ``dbt build`` becomes
a snapshot, by an atomic rename and then an atomic swap of the link. Readers that already
hold the old snapshot keep it; new readers get the new one; a failed or killed run
leaves the published data as it was. One run at a time, by an exclusive lock.

Layout beside FILE::

    FILE                     -> FILE.snapshots/<run_id>.duckdb
    FILE.snapshots/          the last N published snapshots, each with its PDF packs
                             (<run_id>.packs/, smhp.packs), removed with it
    FILE.work/candidate.duckdb, FILE.work/nightly.lock, FILE.work/logs/<run_id>.log
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from smhp.pipeline.faults import pause_point


class RunInProgress(RuntimeError):
    """Another nightly run holds the lock on this warehouse."""


@dataclass(frozen=True)
class WarehouseLayout:
    published: Path

    @property
    def snapshots_dir(self) -> Path:
        return self.published.with_name(self.published.name + ".snapshots")

    @property
    def work_dir(self) -> Path:
        return self.published.with_name(self.published.name + ".work")

    @property
    def candidate(self) -> Path:
        # A fixed name: dbt-duckdb names the catalog after the file, and a stable
        # profile lets dbt reuse its parse between runs.
        return self.work_dir / "candidate.duckdb"

    @property
    def logs_dir(self) -> Path:
        return self.work_dir / "logs"

    def current_snapshot(self) -> Path | None:
        """The snapshot FILE points at, or None if nothing was published yet."""
        return Path(os.path.realpath(self.published)) if self.published.exists() else None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the warehouse's nightly lock for the duration of a run."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with (self.work_dir / "nightly.lock").open("w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunInProgress(
                    f"Another nightly run is using {self.published}; try again when it ends."
                ) from None
            yield

    def start_candidate(self) -> Path:
        """A fresh candidate: a copy of the published snapshot, or an empty file."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.discard_candidate()
        current = self.current_snapshot()
        if current is not None:
            shutil.copyfile(current, self.candidate)
        return self.candidate

    def discard_candidate(self) -> None:
        for leftover in (self.candidate, self.candidate.with_name(self.candidate.name + ".wal")):
            leftover.unlink(missing_ok=True)

    def publish(self, run_id: str, keep: int) -> Path:
        """Make the candidate the published warehouse; return the new snapshot's path."""
        wal = self.candidate.with_name(self.candidate.name + ".wal")
        if wal.exists():
            raise RuntimeError(f"{wal} exists: the candidate was not checkpointed and closed")
        self.snapshots_dir.mkdir(parents=True, exist_ok=True)
        snapshot = self.snapshots_dir / f"{run_id}.duckdb"
        _fsync(self.candidate)
        os.replace(self.candidate, snapshot)
        pause_point("publish")
        link = self.published.with_name(f".{self.published.name}.{run_id}.link")
        link.unlink(missing_ok=True)
        link.symlink_to(os.path.relpath(snapshot, self.published.parent))
        os.replace(link, self.published)
        _fsync_dir(self.published.parent)
        self.prune(keep)
        return snapshot

    def remove_orphans(self) -> list[Path]:
        """Remove snapshots newer than the published one: left by a run killed mid-publish."""
        current = self.current_snapshot()
        if not self.snapshots_dir.is_dir():
            return []
        orphans = [
            s
            for s in self.snapshots_dir.glob("*.duckdb")
            if current is None or s.name > current.name
        ]
        for orphan in orphans:
            _remove_snapshot(orphan)
        return orphans

    def prune(self, keep: int) -> list[Path]:
        """Remove all but the newest ``keep`` snapshots (never the published one)."""
        current = self.current_snapshot()
        snapshots = sorted(self.snapshots_dir.glob("*.duckdb"), reverse=True)
        removed = [s for s in snapshots[keep:] if s != current]
        for old in removed:
            _remove_snapshot(old)
        return removed


def _remove_snapshot(snapshot: Path) -> None:
    """Remove a snapshot and what lives beside it with the same retention: its packs
    (``smhp.packs.store.packs_dir``)."""
    from smhp.packs.store import packs_dir

    snapshot.unlink(missing_ok=True)
    shutil.rmtree(packs_dir(snapshot), ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(path)
