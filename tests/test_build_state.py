"""What a build is made of (``smhp.pipeline.build_state``): the fingerprint that lets a
night with nothing new keep its marts must change with anything that changes them."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from smhp.pipeline import build_state
from smhp.settings import REPO_ROOT


def _suites(tmp_path: Path) -> Path:
    suites = tmp_path / "expectations"
    shutil.copytree(REPO_ROOT / "expectations", suites)
    return suites


def test_the_same_build_gives_the_same_fingerprint(tmp_path: Path) -> None:
    suites = _suites(tmp_path)
    assert build_state.fingerprint(suites) == build_state.fingerprint(suites)
    assert build_state.fingerprint(suites) == build_state.fingerprint(REPO_ROOT / "expectations")


def test_a_changed_or_added_suite_changes_it(tmp_path: Path) -> None:
    suites = _suites(tmp_path)
    before = build_state.fingerprint(suites)
    first = sorted(suites.glob("*.json"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    changed = build_state.fingerprint(suites)
    (suites / "new_suite.json").write_text("{}", encoding="utf-8")
    added = build_state.fingerprint(suites)
    assert len({before, changed, added}) == 3


def test_build_outputs_are_not_inputs(tmp_path: Path) -> None:
    suites = _suites(tmp_path)
    before = build_state.fingerprint(suites)
    (suites / "__pycache__").mkdir()
    (suites / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert build_state.fingerprint(suites) == before


def test_marts_are_kept_only_for_the_build_that_made_them(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "candidate.duckdb"))
    try:
        assert build_state.built_by(con, "abc") is None  # never built: nothing to keep
        build_state.record(con, "abc", "run-1")
        assert build_state.built_by(con, "abc") == "run-1"
        assert build_state.built_by(con, "def") is None  # another build: rebuild
        build_state.record(con, "def", "run-2")
        assert build_state.built_by(con, "def") == "run-2"
    finally:
        con.close()
