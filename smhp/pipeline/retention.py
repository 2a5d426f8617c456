"""``smhp retention``: remove what is no longer needed, and nothing that still is.

Landing files hold raw NHS numbers, so they should not stay on disk for ever; but a file
removed before it was loaded is data lost for good. The rule is therefore strict: a
landing file goes (deleted, or moved into ``SMHP_LANDING_ARCHIVE`` under the same
relative path, folders 0700 and files 0600) only when

- the *published* warehouse's ``raw.load_log`` shows that the latest processing of its
  path (loaded, skipped, replaced or rejected) saw exactly these bytes (size and sha256),
- and its extract date (from its name) is more than ``SMHP_LANDING_RETENTION_DAYS`` old.

A new file, a changed one (a correction not yet loaded), one with no extract date and
dot-files (uploads in progress) are never touched. Each file is claimed by a rename and
checked again before it goes, so a correction delivered under the same name meanwhile is
kept. Run logs older than ``SMHP_LOG_RETENTION_DAYS`` go too, and snapshots a crashed
run left behind (``smhp.pipeline.publish``'s own ``remove_orphans`` and ``prune``). The job holds
the nightly lock: it never races a run. It prints counts, never a value from a file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from smhp.pipeline.contract import load_contract
from smhp.pipeline.landing import LandedFile, scan_landing
from smhp.pipeline.publish import RunInProgress, WarehouseLayout
from smhp.settings import Settings, SettingsError
from smhp.warehouse import WarehouseNotFound, open_published

#: Load-log statuses that mean the file's bytes were read and dealt with.
PROCESSED = ("loaded", "skipped", "replaced", "rejected")
_CLAIMED = ".{}.retention"  # a dot-file: the ingest ignores it while it is claimed


@dataclass(frozen=True)
class Processed:
    """The latest load-log entry of one landing path."""

    status: str
    size_bytes: int | None
    sha256: str | None


@dataclass
class Plan:
    """What the job will do with the landing folder: files to remove and why others stay."""

    remove: list[tuple[LandedFile, Processed]] = field(default_factory=list)
    recent: int = 0
    not_processed: int = 0
    changed: int = 0
    no_date: int = 0  # no extract date: not named <source>/<source>_<date>.csv

    @property
    def kept(self) -> int:
        return self.recent + self.not_processed + self.changed + self.no_date


def published_load_log(warehouse: Path) -> dict[str, Processed]:
    """Per landing path, the latest entry of the published warehouse's load log."""
    con = open_published(warehouse)
    try:
        rows = con.execute(
            "select path, status, size_bytes, sha256 from raw.load_log"
            " qualify row_number() over (partition by path order by file_id desc) = 1"
        ).fetchall()
    finally:
        con.close()
    return {path: Processed(status, size, sha) for path, status, size, sha in rows}


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _same_bytes(path: Path, processed: Processed) -> bool:
    """Whether ``path`` holds exactly the bytes the load log recorded for it."""
    if processed.status not in PROCESSED or processed.sha256 is None:
        return False
    try:
        return path.stat().st_size == processed.size_bytes and _sha256(path) == processed.sha256
    except OSError:
        return False


def plan_landing(landing: Path, log: dict[str, Processed], before: date) -> Plan:
    """Sort the landing files: those to remove (processed as they are, extract date before
    ``before``) and, counted by reason, those that stay."""
    plan = Plan()
    if not landing.is_dir():
        return plan
    for landed in scan_landing(landing, set(load_contract()), date.max):
        processed = log.get(landed.relative)
        if processed is None:
            plan.not_processed += 1
        elif landed.extract_date is None:
            plan.no_date += 1
        elif landed.extract_date >= before:
            plan.recent += 1
        elif not _same_bytes(landed.path, processed):
            plan.changed += 1
        else:
            plan.remove.append((landed, processed))
    return plan


def _private_dirs(archive: Path, relative_dir: Path) -> Path:
    """``archive/relative_dir``, every folder created 0700."""
    folder = archive
    for part in (Path(), *relative_dir.parts):
        folder = folder / part
        if not folder.is_dir():
            folder.mkdir(mode=0o700, parents=True)
            os.chmod(folder, 0o700)  # whatever the umask
    return folder


def _move(source: Path, target: Path) -> None:
    """Move ``source`` to ``target`` (replacing it), across file systems too; 0600."""
    os.chmod(source, 0o600)
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(source, partial)
        os.chmod(partial, 0o600)
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, target)
        source.unlink()


def remove_landing_file(landed: LandedFile, processed: Processed, archive: Path | None) -> bool:
    """Delete (or archive) one landing file; False if it changed since it was planned.

    The file is first claimed by a rename to a dot-file (the ingest ignores it), then its
    bytes are checked again: a correction delivered under the same name meanwhile is put
    back, never removed.
    """
    claimed = landed.path.with_name(_CLAIMED.format(landed.path.name))
    try:
        os.rename(landed.path, claimed)
    except FileNotFoundError:
        return False
    if not _same_bytes(claimed, processed):
        try:
            os.link(claimed, landed.path)  # back under its name, unless a newer one is there
            claimed.unlink()
        except FileExistsError:
            pass  # a newer delivery holds the name; this unprocessed one stays as the dot-file
        except OSError:  # no hard links on this file system
            if not landed.path.exists():
                os.rename(claimed, landed.path)
        return False
    if archive is None:
        claimed.unlink()
    else:
        relative = Path(landed.relative)
        _move(claimed, _private_dirs(archive, relative.parent) / relative.name)
    return True


def remove_old_logs(logs_dir: Path, max_age_days: int, dry_run: bool) -> int:
    """Remove (or count) the run logs not modified for ``max_age_days``."""
    if not logs_dir.is_dir():
        return 0
    cutoff = time.time() - max_age_days * 86400
    old = [p for p in logs_dir.glob("*.log") if p.stat().st_mtime < cutoff]
    if not dry_run:
        for path in old:
            path.unlink(missing_ok=True)
    return len(old)


def run_retention(settings: Settings, dry_run: bool = False, today: date | None = None) -> int:
    """The retention job: print one line per kind of action and a summary; exit code."""
    archive = settings.landing_archive
    if archive is not None and archive.resolve().is_relative_to(settings.landing.resolve()):
        raise SettingsError(
            f"SMHP_LANDING_ARCHIVE ({archive}) is inside the landing folder {settings.landing}: "
            "the nightly run would read the archive as deliveries. Choose a folder outside it."
        )
    layout = WarehouseLayout(settings.warehouse)
    try:
        log = published_load_log(settings.warehouse)
    except WarehouseNotFound:
        print(
            f"smhp retention: no published warehouse at {settings.warehouse}: nothing removed "
            "(a landing file goes only once the published load log shows it processed)"
        )
        return 0
    try:
        with layout.lock():
            return _run_locked(settings, layout, log, dry_run, today or date.today())
    except RunInProgress as exc:
        print(f"smhp retention: nothing removed: {exc}", file=sys.stderr)
        return 1


def _run_locked(
    settings: Settings,
    layout: WarehouseLayout,
    log: dict[str, Processed],
    dry_run: bool,
    today: date,
) -> int:
    days = settings.landing_retention_days
    before = today - timedelta(days=days)
    print(
        f"smhp retention{' (dry run)' if dry_run else ''}: landing {settings.landing}, "
        f"published warehouse {settings.warehouse} ({len(log)} paths in its load log)"
    )
    plan = plan_landing(settings.landing, log, before)
    archive = settings.landing_archive
    removed = 0
    if dry_run:
        removed = len(plan.remove)
    else:
        for landed, processed in plan.remove:
            if remove_landing_file(landed, processed, archive):
                removed += 1
            else:
                plan.changed += 1
    would = "would be " if dry_run else ""
    done = f"{would}moved to {archive}" if archive else f"{would}deleted"
    print(
        f"  landing files {done}: {removed} (processed with these exact bytes, "
        f"extract date before {before})"
    )
    print(
        f"  landing files kept: {plan.kept} ({plan.recent} within {days} days, "
        f"{plan.not_processed} not processed yet, {plan.changed} changed since processed, "
        f"{plan.no_date} not named like an extract)"
    )
    logs = remove_old_logs(layout.logs_dir, settings.log_retention_days, dry_run)
    print(
        f"  run logs {'that would be ' if dry_run else ''}removed: {logs} "
        f"(older than {settings.log_retention_days} days)"
    )
    if dry_run:
        on_disk = len(list(layout.snapshots_dir.glob("*.duckdb")))
        print(
            f"  snapshots: {on_disk} on disk (SMHP_KEEP_SNAPSHOTS={settings.keep_snapshots}; "
            "not checked in a dry run)"
        )
        snapshots = 0
    else:
        snapshots = len(layout.remove_orphans()) + len(layout.prune(settings.keep_snapshots))
        print(
            f"  snapshots removed: {snapshots} (left by a crashed run, or beyond "
            f"SMHP_KEEP_SNAPSHOTS={settings.keep_snapshots})"
        )
    verb = "would go" if dry_run else "went"
    print(
        f"smhp retention: {'dry run, nothing changed' if dry_run else 'done'}: "
        f"{removed} landing file(s), {logs} run log(s) and {snapshots} snapshot(s) {verb}; "
        f"{plan.kept} landing file(s) kept"
    )
    return 0
