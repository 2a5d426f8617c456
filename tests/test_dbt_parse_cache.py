"""dbt's cached parse (``smhp.pipeline.dbt_build.parse_cache``): one per seed folder and
vars, so that builds from other seeds never replace the parse the nightly run starts from
(dbt would parse the whole project again: about 4 s of a city nightly run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smhp.pipeline import dbt_build


def test_each_seed_folder_and_set_of_vars_has_its_own_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbt_build, "PARSE_CACHE_DIR", tmp_path)
    city = dbt_build.parse_cache("../seeds", None)
    assert city.parent == tmp_path
    assert city == dbt_build.parse_cache("../seeds", {})
    assert city != dbt_build.parse_cache("../../tmp/bench/scale-45/seeds", None)
    assert city != dbt_build.parse_cache("../seeds", {"reliable_change_threshold": 5})


def test_a_build_keeps_its_parse_under_its_key_and_only_the_newest_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbt_build, "PARSE_CACHE_DIR", tmp_path / "cache")
    target = tmp_path / "target"
    target.mkdir()
    caches = []
    for i in range(dbt_build.PARSES_KEPT + 2):
        (target / dbt_build.PARTIAL_PARSE_FILE).write_text(f"parse {i}")
        caches.append(dbt_build.parse_cache(f"seeds-{i}", None))
        dbt_build._cache_parse(target, caches[-1])
        os.utime(caches[-1], ns=(i * 10**9, i * 10**9))  # written in this order
    assert [c.exists() for c in caches] == [False, False] + [True] * dbt_build.PARSES_KEPT
    assert caches[-1].read_text() == f"parse {dbt_build.PARSES_KEPT + 1}"
    assert not list((tmp_path / "cache").glob(".*"))  # no half-written copy left

    fresh = tmp_path / "fresh-target"  # a new warehouse's target starts from its key's parse
    dbt_build._start_from_cached_parse(fresh, caches[4])
    assert (fresh / dbt_build.PARTIAL_PARSE_FILE).read_text() == "parse 4"
