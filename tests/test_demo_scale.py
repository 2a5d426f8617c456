"""The demo at scale (``smhp demo-data --scale N``, ``smhp.demo.scale``).

Scale 1 is today's city byte for byte; at scale N every file holds the city's bytes and then
N-1 renamed copies of its data rows; the copies' students are valid NHS numbers of the test
range that no other copy (nor the city) uses; and a real nightly run on a scale-2 landing,
with the scaled seeds (``SMHP_SEEDS_DIR``), publishes exactly twice the city: every copy
institution's figures are its original's, every partnership count doubles.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from extracts import NIGHTLY_ENV, SMHP, run_nightly

from smhp.demo import PINNED_DEMO_END, SOURCES, DemoSummary, write_demo_extracts
from smhp.demo.scale import StudentNumbers, _test_range_numbers, write_scaled_seeds
from smhp.pipeline import dbt_build
from smhp.settings import PIPELINE_DIR

REPO = Path(__file__).resolve().parents[1]
#: sha256 over (name, bytes) of every file of the city's landing at PINNED_DEMO_END, as the
#: generator wrote it before scaling existed: scale 1 must stay exactly that. A deliberate
#: change to the demo's data changes it (update it with the change, never for scaling).
CITY_DIGEST = "5ac56c0deb158bc6242b3ed07a760e6baef39fa391be70cd263abc49ba402b81"
CITY = {"files": 4247, "rows": 54208, "students": 13270}


def digest(landing: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(landing.rglob("*.csv")):
        h.update(path.relative_to(landing).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def modulus_11_ok(digits: str) -> bool:
    """The NHS number check, written here independently of smhp.pipeline.nhs_number."""
    if not re.fullmatch(r"[0-9]{10}", digits):
        return False
    check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(digits[:9])) % 11
    return {11: 0}.get(check, check) == int(digits[9])


def data_rows(content: bytes) -> tuple[list[str], list[list[str]]]:
    text = content.decode("utf-8").removeprefix("\ufeff")
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    return header, rows


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> tuple[Path, DemoSummary]:
    out = tmp_path_factory.mktemp("city") / "landing"
    return out, write_demo_extracts(out, end=PINNED_DEMO_END)


@pytest.fixture(scope="module")
def scaled(tmp_path_factory) -> tuple[Path, DemoSummary]:
    out = tmp_path_factory.mktemp("scale3") / "landing"
    return out, write_demo_extracts(out, end=PINNED_DEMO_END, scale=3)


# ------------------------------------------------------------------------- the files


def test_scale_1_is_todays_city_byte_for_byte(city):
    out, summary = city
    assert digest(out) == CITY_DIGEST
    assert (summary.files, summary.rows, summary.students) == tuple(CITY.values())
    assert summary.scale == 1 and summary.funded_liaison_students == 429


def test_scale_3_is_the_city_then_two_renamed_copies(city, scaled):
    (city_out, city_summary), (out, summary) = city, scaled
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.csv"))
    assert names == sorted(p.relative_to(city_out).as_posix() for p in city_out.rglob("*.csv"))
    assert summary.rows == 3 * city_summary.rows and summary.files == city_summary.files
    assert summary.rows_by_source == {s: 3 * n for s, n in city_summary.rows_by_source.items()}
    assert summary.students == 3 * city_summary.students
    assert summary.bad_rows == {k: 3 * n for k, n in city_summary.bad_rows.items()}
    assert summary.header_only_files == city_summary.header_only_files
    assert summary.rejected_file == city_summary.rejected_file
    assert summary.extra_column_files == city_summary.extra_column_files
    codes = {"UOL", "LJMU", "HOPE", "LIPA", "LSTM", "UOLIC"}
    for name in names:
        ours, theirs = (out / name).read_bytes(), (city_out / name).read_bytes()
        assert ours.startswith(theirs), name  # copy 0: the city's bytes, BOM and all
        header, rows = data_rows(ours)
        n = len(data_rows(theirs)[1])
        assert len(rows) == 3 * n, name
        for k in (1, 2):
            for original, copy in zip(rows[:n], rows[k * n : (k + 1) * n], strict=True):
                for column, a, b in zip(header, original, copy, strict=True):
                    if column == "institution_code" and a in codes:
                        assert b == f"{a}-0{k}"
                    elif column in ("contact_id", "discussion_id", "referral_id", "episode_id"):
                        assert b == (f"{a}-0{k}" if a else a)
                    elif column == "student_ref":
                        valid = modulus_11_ok(a.replace(" ", ""))
                        assert (b != a) == valid and b.count(" ") == a.count(" ")
                        assert [i for i, c in enumerate(b) if c == " "] == [
                            i for i, c in enumerate(a) if c == " "
                        ]
                    else:
                        assert a == b, (name, column)


def test_the_copies_students_are_valid_and_disjoint(scaled):
    out, summary = scaled
    per_copy: list[set[str]] = [set(), set(), set()]
    for path in out.rglob("*.csv"):
        header, rows = data_rows(path.read_bytes())
        ref, third = header.index("student_ref"), len(rows) // 3
        for k in range(3):
            for row in rows[k * third : (k + 1) * third]:
                digits = row[ref].replace(" ", "")
                if modulus_11_ok(digits):
                    per_copy[k].add(digits)
    assert [len(s) for s in per_copy] == [summary.students // 3] * 3
    assert len(set().union(*per_copy)) == summary.students
    assert all(n.startswith("999") for s in per_copy for n in s)


def test_student_numbers_are_injective_valid_and_fit_the_national_scale():
    valid = _test_range_numbers()
    assert len(valid) == 909_091  # 10**6 nine-digit stems, 1 in 11 with no check digit
    sample = valid[::997].astype(str).tolist()
    assert all(modulus_11_ok(n) for n in sample)
    city = sample[:500]
    numbers = StudentNumbers(city, 45)
    seen = set(city)
    for k in range(1, 45):
        copy = numbers.for_copy(k)
        assert sorted(copy) == sorted(city)
        assert all(modulus_11_ok(n) and n.startswith("999") for n in copy.values())
        assert seen.isdisjoint(copy.values()) and len(set(copy.values())) == len(city)
        seen.update(copy.values())
    big_city = valid[:19_800].astype(str).tolist()  # 45 x 19,800 fit in 909,091; 46 x do not
    assert len(StudentNumbers(big_city, 45).for_copy(44)) == 19_800
    with pytest.raises(ValueError, match="at most scale 45"):
        StudentNumbers(big_city, 46)


# ------------------------------------------------------------------------- the seeds


def test_scaled_seeds_add_each_copys_institutions(tmp_path):
    seeds = write_scaled_seeds(tmp_path / "seeds", 3)
    city = REPO / "seeds"
    assert sorted(p.name for p in seeds.iterdir()) == sorted(
        p.name for p in city.iterdir() if p.suffix in (".csv", ".yml")
    )
    with (seeds / "institutions.csv").open(newline="") as fh:
        institutions = {r["institution_code"]: r for r in csv.DictReader(fh)}
    assert len(institutions) == 18
    assert institutions["UOL-02"]["institution_name"] == "University of Liverpool (copy 02)"
    assert institutions["HOPE-01"]["joined_on"] == institutions["HOPE"]["joined_on"]
    for name in ("institution_populations.csv", "enrolments.csv"):
        with (seeds / name).open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        with (city / name).open(newline="") as fh:
            originals = list(csv.DictReader(fh))
        assert rows[: len(originals)] == originals and len(rows) == 3 * len(originals)
        for k in (1, 2):
            copies = rows[k * len(originals) : (k + 1) * len(originals)]
            assert [r["institution_code"] for r in copies] == [
                f"{r['institution_code']}-0{k}" for r in originals
            ]
            assert [r | {"institution_code": ""} for r in copies] == [
                r | {"institution_code": ""} for r in originals
            ]
    for name in ("metric_catalogue.csv", "services.csv", "spc_change_points.csv", "_seeds.yml"):
        assert (seeds / name).read_bytes() == (city / name).read_bytes()
    with pytest.raises(ValueError, match="city's seeds"):
        write_scaled_seeds(city, 2)


def test_the_seeds_setting_and_dbts_seed_path(tmp_path, monkeypatch):
    env = dict(os.environ, SMHP_SEEDS_DIR=str(tmp_path / "seeds"))
    shown = subprocess.run(
        [sys.executable, "-c", "from smhp.settings import SEEDS_DIR; print(SEEDS_DIR)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert shown.stdout.strip() == str((tmp_path / "seeds").resolve())
    # dbt gets it relative to the project, and no target from where the seeds' SQL would
    # be written over the seeds themselves (a target whose run/smhp is the project)
    seeds = (tmp_path / "seeds").resolve()
    monkeypatch.setattr(dbt_build, "SEEDS_DIR", seeds)
    assert dbt_build._seed_path(tmp_path / "target") == os.path.relpath(seeds, PIPELINE_DIR)
    (tmp_path / "bad" / "run").mkdir(parents=True)
    (tmp_path / "bad" / "run" / "smhp").symlink_to(PIPELINE_DIR)
    assert dbt_build._seed_path(tmp_path / "bad") is None


def test_the_command_needs_seeds_above_scale_1(tmp_path):
    done = subprocess.run(
        [SMHP, "demo-data", "--out", str(tmp_path / "l"), "--scale", "2"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "--seeds" in done.stderr
    assert not (tmp_path / "l").exists()


# ------------------------------------------------------------------------ the pipeline


@pytest.mark.slow  # a real nightly run (and the session's demo build)
def test_a_nightly_run_at_scale_2_publishes_twice_the_city(tmp_path, demo_warehouse):
    """One real ``smhp nightly`` on a scale-2 landing, against the session's city demo
    (its marts are those of one run on the city's landing)."""
    landing, seeds = tmp_path / "landing", tmp_path / "seeds"
    summary = write_demo_extracts(landing, end=PINNED_DEMO_END, scale=2)
    write_scaled_seeds(seeds, 2)
    env = dict(NIGHTLY_ENV, SMHP_SEEDS_DIR=str(seeds), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = run_nightly(landing, tmp_path / "wh" / "warehouse.duckdb", env=env)
    assert done.returncode == 3, done.stderr[-3000:]  # published, with the demo's warnings
    metrics = "select month, institution_code, metric, value from marts.metrics_monthly"
    counted = "select metric from marts.dim_metrics where kind = 'count'"
    quarantined = "select count(*) from raw.quarantine"
    ours = duckdb.connect(os.path.realpath(tmp_path / "wh" / "warehouse.duckdb"), read_only=True)
    theirs = duckdb.connect(os.path.realpath(demo_warehouse), read_only=True)
    try:
        scaled_rows, city_rows = (
            ours.execute(metrics).fetchall(),
            theirs.execute(metrics).fetchall(),
        )
        counts = {m for (m,) in theirs.execute(counted).fetchall()}
        assert (
            ours.execute(quarantined).fetchone()[0] == 2 * theirs.execute(quarantined).fetchone()[0]
        )
        assert ours.execute(quarantined).fetchone()[0] == sum(summary.bad_rows.values())
    finally:
        ours.close()
        theirs.close()
    city = {(m, i, k): v for m, i, k, v in city_rows}
    scaled = {(m, i, k): v for m, i, k, v in scaled_rows}
    assert counts and len(scaled) == 2 * len(city) - sum(1 for key in city if key[1] == "ALL")
    for (month, inst, metric), value in city.items():
        if inst != "ALL":
            assert scaled[month, inst, metric] == value
            assert scaled[month, f"{inst}-01", metric] == value
        elif metric in counts:
            assert scaled[month, inst, metric] == 2 * value
        else:  # percentages, medians and rates of two identical halves: the city's
            assert scaled[month, inst, metric] == value
    assert set(SOURCES) <= {p.name for p in landing.iterdir()}
