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
