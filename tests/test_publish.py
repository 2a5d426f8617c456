"""Publishing by swapping a link to per-run snapshots; keeping the last N (no dbt here)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from smhp.packs.store import packs_dir
from smhp.pipeline.publish import RunInProgress, WarehouseLayout
from smhp.warehouse import WarehouseNotFound, open_published


def build_candidate(layout: WarehouseLayout, value: int) -> None:
    con = duckdb.connect(str(layout.start_candidate()))
    con.execute("create or replace table t as select ? as v", [value])
    con.close()


def read(path: Path) -> int:
    con = open_published(path)
    try:
        return con.execute("select v from t").fetchone()[0]
    finally:
        con.close()


def test_each_publish_swaps_the_link_and_keeps_the_last_n(tmp_path):
    layout = WarehouseLayout(tmp_path / "warehouse.duckdb")
    with pytest.raises(WarehouseNotFound):
        open_published(layout.published)
    for run in range(1, 6):
        build_candidate(layout, run)
        snapshot = layout.publish(f"2024030{run}T000000000000Z", keep=2)
        assert os.path.realpath(layout.published) == str(snapshot)
        assert read(layout.published) == run  # a reader in this process sees each new run
    kept = sorted(p.name for p in layout.snapshots_dir.iterdir())
    assert kept == ["20240304T000000000000Z.duckdb", "20240305T000000000000Z.duckdb"]
    assert (
        os.readlink(layout.published) == "warehouse.duckdb.snapshots/20240305T000000000000Z.duckdb"
    )


def test_a_snapshots_packs_go_with_it(tmp_path):
    layout = WarehouseLayout(tmp_path / "warehouse.duckdb")
    for run in range(1, 4):
        build_candidate(layout, run)
        snapshot = layout.publish(f"2024030{run}T000000000000Z", keep=2)
        (packs_dir(snapshot)).mkdir()
        (packs_dir(snapshot) / "board.pdf").write_bytes(b"%PDF")
    orphan = layout.snapshots_dir / "20240309T000000000000Z.duckdb"
    orphan.write_bytes(b"half-published")
    packs_dir(orphan).mkdir()
    assert layout.remove_orphans() == [orphan]
    kept = sorted(p.name for p in layout.snapshots_dir.iterdir())
    assert kept == [
        "20240302T000000000000Z.duckdb",
        "20240302T000000000000Z.packs",
        "20240303T000000000000Z.duckdb",
        "20240303T000000000000Z.packs",
    ]


def test_orphan_snapshots_of_a_killed_publish_are_removed(tmp_path):
    layout = WarehouseLayout(tmp_path / "warehouse.duckdb")
    build_candidate(layout, 1)
    layout.publish("20240301T000000000000Z", keep=3)
    orphan = layout.snapshots_dir / "20240302T000000000000Z.duckdb"
    orphan.write_bytes(b"half-published")
    assert layout.remove_orphans() == [orphan]
    assert read(layout.published) == 1


def test_one_run_at_a_time(tmp_path):
    layout = WarehouseLayout(tmp_path / "warehouse.duckdb")
    with layout.lock(), pytest.raises(RunInProgress), layout.lock():
        pass


def test_a_reader_holding_snapshots_sees_each_publish_and_releases_old_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hold_published`` (the dashboard server's mode): each open still reads the snapshot
    the link points at now; the last two snapshots read stay open, an older one is released
    as a newer one is read (retention can delete it), and a connection still open on a
    released snapshot keeps working until it is closed."""
    from smhp import warehouse

    monkeypatch.setattr(warehouse, "_held", warehouse._Held())  # this test's own state
    warehouse.hold_published(2)
    layout = WarehouseLayout(tmp_path / "warehouse.duckdb")
    snapshots, first_reader = [], None
    for run in range(1, 5):
        build_candidate(layout, run)
        snapshots.append(str(layout.publish(f"2024030{run}T000000000000Z", keep=2)))
        assert read(layout.published) == run  # the new snapshot at the next open
        if run == 1:
            first_reader = open_published(layout.published)  # kept open through the runs
        assert list(warehouse._held.anchors) == snapshots[-2:]
    assert first_reader is not None
    assert first_reader.execute("select v from t").fetchone() == (1,)  # released, still usable
    first_reader.close()
    assert not Path(snapshots[0]).exists()  # deleted by retention while it was held
    with pytest.raises(ValueError):
        warehouse.hold_published(0)
