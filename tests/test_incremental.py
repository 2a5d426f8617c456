"""An incremental nightly build publishes exactly what a full build does (issue 12).

The demo's second night is the hard case: besides new files it brings a corrected
re-delivery (rows taken away and replaced), a re-send, a rejected file and late files
(``smhp.demo.messiness``). ``smhp demo`` builds that night incrementally
(``pipeline/macros/incremental_versions.sql``); here a copy of its warehouse is rebuilt with
``--full-refresh`` and every table a reader or a later build uses must come out the same.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import duckdb
import pytest
from extracts import NIGHTLY_ENV
from shared_builds import copy_built

from smhp.pipeline.keys import demo_key
from smhp.pipeline.nightly import run_nightly
from smhp.pipeline.reporter import Reporter
from smhp.settings import Settings

pytestmark = pytest.mark.slow

#: The schemas dbt builds: staging and intermediate carry state from one incremental build
#: to the next, so they must match too, not only the marts readers see.
BUILT_SCHEMAS = ("staging", "intermediate", "marts", "quality")


def differing_tables(one: Path, other: Path) -> dict[str, tuple[int, int]]:
    """Tables of ``BUILT_SCHEMAS`` whose rows differ (as multisets) between two DuckDB files:
    name -> (rows only in ``one``, rows only in ``other``); a table missing on one side
    counts as differing."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{one}' as one (read_only)")
        con.execute(f"attach '{other}' as other (read_only)")
        listed = """select schema_name || '.' || table_name from duckdb_tables()
            where database_name = ? and schema_name in ?"""
        names = [
            set(r[0] for r in con.execute(listed, [db, list(BUILT_SCHEMAS)]).fetchall())
            for db in ("one", "other")
        ]
        out = {name: (-1, -1) for name in names[0] ^ names[1]}
        for name in sorted(names[0] & names[1]):
            only = [
                con.execute(
                    f"select count(*) from (from {a}.{name} except all from {b}.{name})"
                ).fetchone()[0]
                for a, b in (("one", "other"), ("other", "one"))
            ]
            if any(only):
                out[name] = (only[0], only[1])
        return out
    finally:
        con.close()


def test_the_demo_second_night_builds_incrementally(demo_run: subprocess.CompletedProcess):
    first, second = demo_run.stderr.split("smhp nightly run ")[1:3]
    assert "full build (no earlier build by this build of the pipeline)" in first
    assert "corrected re-delivery" in second and "incremental build" in second


def test_an_incremental_build_publishes_what_a_full_build_does(
    demo_run: subprocess.CompletedProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    demo = Path(demo_run.args[3])
    copy = copy_built(demo, tmp_path / "demo")
    monkeypatch.setenv("SMHP_QUALITY_POOL", NIGHTLY_ENV.get("SMHP_QUALITY_POOL", ""))
    settings = Settings.from_env(
        landing=copy / "landing", warehouse=copy / "warehouse.duckdb", addons=""
    )
    log = io.StringIO()
    result = run_nightly(settings, demo_key(), Reporter(log), full_refresh=True, addons=())
    assert result.published, log.getvalue()
    assert "full build (--full-refresh)" in log.getvalue()
    incremental = (demo / "warehouse.duckdb").resolve()
    full = (copy / "warehouse.duckdb").resolve()
    assert incremental.name != full.name  # two builds compared, not one file twice
    assert differing_tables(incremental, full) == {}
