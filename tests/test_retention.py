"""`smhp retention` and the file modes of a real run: nothing readable by other accounts,
landing files (raw NHS numbers) removed once loaded and old, and nothing else removed.

Real runs of the `smhp` command (real dbt build) publish a small landing folder; the
retention job then runs as a subprocess against it: a dry run, the real one (delete), and
the archive mode followed by a key rotation that reloads from the archive.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from extracts import NIGHTLY_ENV, nhs_number, referral, run_smhp, table_dump, write_extract
from extracts import run_nightly as nightly
from shared_builds import build_once, copy_built

from smhp.pipeline.landing import LandedFile
from smhp.pipeline.publish import WarehouseLayout
from smhp.pipeline.retention import Processed, remove_landing_file

RECENT = (date.today() - timedelta(days=2)).isoformat()
NEW_KEY_HEX = "c3a17e59d2f04b86a1e9c5370d8f2b64e7a3195cb0d48f26e1c7a935b2d06f84"

pytestmark = pytest.mark.slow  # real `smhp nightly` runs (dbt build)


def smhp(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``smhp`` with the tests' nightly environment plus ``env`` (SMHP_ settings)."""
    return run_smhp(*args, env=dict(NIGHTLY_ENV, **env))


def night(day: str, *ids: int) -> list[dict]:
    return [referral(f"R{i}", i, referred_on=day, updated_at=f"{day} 09:00:00") for i in ids]


def deliver(landing: Path) -> None:
    """Two old nights, a recent one and a file that breaks the naming rule."""
    write_extract(landing, "referrals", "2024-03-01", night("2024-03-01", 1, 2))
    write_extract(landing, "referrals", "2024-03-04", night("2024-03-04", 3))
    write_extract(landing, "referrals", RECENT, night(RECENT, 4))
    (landing / "referrals" / "referrals_march.csv").write_text("not named like an extract\n")


def listing(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def landing_and_warehouse(folder: Path) -> tuple[Path, Path]:
    return folder / "landing", folder / "var" / "warehouse.duckdb"


@pytest.fixture(scope="session")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``deliver`` and a first run on it, built once per test run (``shared_builds``);
    never changed: tests take copies."""

    def build(folder: Path) -> None:
        landing, warehouse = landing_and_warehouse(folder)
        deliver(landing)
        done = nightly(landing, warehouse)
        assert done.returncode == 3, done.stderr  # published with warnings: a rejected file, stale

    return build_once(tmp_path_factory, "retention-first-run", build)


@pytest.fixture(scope="module")
def published(first_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of ``first_run``; afterwards one loaded old file changed, an unprocessed old
    file delivered and an upload in progress (a dot-file)."""
    landing, warehouse = landing_and_warehouse(
        copy_built(first_run, tmp_path_factory.mktemp("retention"))
    )
    write_extract(landing, "referrals", "2024-03-04", night("2024-03-04", 3, 5))  # a correction
    write_extract(landing, "referrals", "2024-03-06", night("2024-03-06", 6))  # not loaded yet
    (landing / "referrals" / ".referrals_2024-03-07.csv.partial").write_text("uploading")
    return landing, warehouse


def test_nothing_a_run_creates_is_readable_by_other_accounts(published):
    _, warehouse = published
    layout = WarehouseLayout(warehouse)
    assert stat.S_IMODE(os.stat(warehouse).st_mode) == 0o640  # the published snapshot
    made = [warehouse.parent, *layout.snapshots_dir.rglob("*"), *layout.work_dir.rglob("*")]
    made += [layout.snapshots_dir, layout.work_dir]
    assert len(made) > 10
    for path in made:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o007 == 0, f"{path} is {mode:04o}"
        assert mode & 0o020 == 0, f"{path} is {mode:04o}"  # nor writable by the group
        if path.is_dir():
            assert mode == 0o750, f"{path} is {mode:04o}"


def test_a_dry_run_says_what_would_go_and_changes_nothing(published):
    landing, warehouse = published
    before = listing(landing)
    done = smhp("retention", "--landing", str(landing), "--warehouse", str(warehouse), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "landing files would be deleted: 1 " in done.stdout
    assert (
        "landing files kept: 4 (1 within 30 days, 1 not processed yet, "
        "1 changed since processed, 1 not named like an extract)" in done.stdout
    )
    assert "dry run, nothing changed" in done.stdout
    assert listing(landing) == before


def test_retention_removes_only_old_files_loaded_as_they_are(published):
    landing, warehouse = published
    layout = WarehouseLayout(warehouse)
    old_log, new_log = layout.logs_dir / "19990101T000000000000Z.log", layout.logs_dir / "x.log"
    for log in (old_log, new_log):
        log.write_text("a run's log\n")
    hundred_days_ago = time.time() - 100 * 86400
    os.utime(old_log, (hundred_days_ago, hundred_days_ago))
    current = Path(os.path.realpath(warehouse))
    crashed = layout.snapshots_dir / "99991231T000000000000Z.duckdb"  # newer than published
    shutil.copyfile(current, crashed)
    for n in range(3):  # older than the three kept
        shutil.copyfile(current, layout.snapshots_dir / f"20000101T00000000000{n}Z.duckdb")
    before = listing(landing)

    done = smhp("retention", "--landing", str(landing), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    assert "landing files deleted: 1 " in done.stdout
    assert "run logs removed: 1 (older than 90 days)" in done.stdout
    assert "snapshots removed: 2 " in done.stdout
    after = listing(landing)
    assert set(before) - set(after) == {"referrals/referrals_2024-03-01.csv"}
    assert all(after[name] == before[name] for name in after)  # the rest untouched
    assert not old_log.exists() and new_log.exists()
    assert not crashed.exists() and current.exists()
    assert sorted(p.name for p in layout.snapshots_dir.iterdir()) == [
        "20000101T000000000001Z.duckdb",
        "20000101T000000000002Z.duckdb",
        current.name,
    ]
    for serial in range(1, 7):  # counts only, never a value from a file
        assert nhs_number(serial) not in done.stdout + done.stderr


def test_nothing_is_removed_while_a_run_holds_the_lock(published):
    landing, warehouse = published
    before = listing(landing)
    with WarehouseLayout(warehouse).lock():
        done = smhp(
            "retention",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            SMHP_LANDING_RETENTION_DAYS="1",
        )
    assert done.returncode == 1 and "nothing removed" in done.stderr
    assert listing(landing) == before


def test_without_a_published_warehouse_nothing_is_removed(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing)
    before = listing(landing)
    done = smhp("retention", "--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb"))
    assert done.returncode == 0
    assert "no published warehouse" in done.stdout and "nothing removed" in done.stdout
    assert listing(landing) == before


def test_a_correction_delivered_meanwhile_is_kept(tmp_path):
    """Between planning and removal a provider replaces the file: it stays, as delivered."""
    path = tmp_path / "referrals" / "referrals_2024-03-01.csv"
    path.parent.mkdir()
    path.write_bytes(b"version one\n")
    processed = Processed("loaded", 12, hashlib.sha256(b"version one\n").hexdigest())
    landed = LandedFile(
        path, "referrals/referrals_2024-03-01.csv", "referrals", date(2024, 3, 1), None
    )
    path.write_bytes(b"version two!\n")  # the correction arrives
    assert remove_landing_file(landed, processed, archive=None) is False
    assert path.read_bytes() == b"version two!\n"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    path.write_bytes(b"version one\n")
    assert remove_landing_file(landed, processed, archive=None) is True
    assert list(path.parent.iterdir()) == []


def raw_rows(warehouse: Path) -> list[tuple]:
    return table_dump(
        warehouse, "select referral_id, _extract_date from raw.referrals order by all"
    )


def test_archived_files_are_private_and_a_rotation_reloads_them(first_run, tmp_path):
    landing, warehouse = landing_and_warehouse(copy_built(first_run, tmp_path))
    archive = tmp_path / "archive"
    loaded = raw_rows(warehouse)
    done = smhp(
        "retention",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        SMHP_LANDING_ARCHIVE=str(archive),
    )
    assert done.returncode == 0, done.stderr
    assert f"landing files moved to {archive}: 2 " in done.stdout
    assert sorted(listing(archive)) == [
        "referrals/referrals_2024-03-01.csv",
        "referrals/referrals_2024-03-04.csv",
    ]
    assert sorted(listing(landing)) == [
        f"referrals/referrals_{RECENT}.csv",
        "referrals/referrals_march.csv",
    ]
    for path in [archive, *archive.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {mode:04o}"

    rotated = nightly(
        landing,
        warehouse,
        "--rotate-key",
        env=dict(NIGHTLY_ENV, SMHP_PSEUDONYM_KEY=NEW_KEY_HEX, SMHP_LANDING_ARCHIVE=str(archive)),
    )
    assert rotated.returncode == 3, rotated.stderr
    assert "files: 3 loaded" in rotated.stderr  # two from the archive, one from landing
    assert raw_rows(warehouse) == loaded


def test_an_archive_inside_the_landing_folder_is_refused(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing)
    done = smhp(
        "retention",
        "--landing",
        str(landing),
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        SMHP_LANDING_ARCHIVE=str(landing / "archive"),
    )
    assert done.returncode == 2 and "inside the landing folder" in done.stderr
