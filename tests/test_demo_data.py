"""The demo extracts: calibrated funded-period figures, the contract's messiness, arrivals.

The funded-period counts are recomputed here from the written CSV files alone, with a
validator of our own built from the contract's machine-readable copy (the dbt source YAML
and the seeds), independent of both the generator and the ingest.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from smhp.demo import (
    FUNDED_PERIOD,
    PINNED_DEMO_END,
    SOURCES,
    DemoSummary,
    Timeline,
    write_demo_extracts,
)
from smhp.reporting.disclosure import suppress_count
from smhp.reporting.disclosure_audit import interval

REPO = Path(__file__).resolve().parents[1]
FIRST_LOAD = Timeline(PINNED_DEMO_END).first_load  # `smhp demo`'s first run
NAME = re.compile(r"(?P<source>[a-z_]+)/(?P=source)_(?P<night>\d{4}-\d{2}-\d{2})\.csv")
SEED_CODE_COLUMN = {
    "institutions": "institution_code",
    "services": "service_code",
    "referral_sources": "referral_source",
}


# ------------------------------------------------------------------ our own contract


def modulus_11_ok(digits: str) -> bool:
    if not re.fullmatch(r"[0-9]{10}", digits):
        return False
    check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(digits[:9])) % 11
    return {11: 0}.get(check, check) == int(digits[9])  # 10 never equals a digit


def seed_codes(seed: str) -> set[str]:
    with (REPO / "seeds" / f"{seed}.csv").open(newline="", encoding="utf-8") as fh:
        return {row[SEED_CODE_COLUMN[seed]] for row in csv.DictReader(fh)}


def load_contract() -> dict[str, dict]:
    """source -> {"columns": {header: rule}, "id": [header, ...]} from the dbt YAML."""
    contract = {}
    for path in sorted(REPO.glob("pipeline/models/staging/*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]:
            for table in source["tables"]:
                if "contract" not in table.get("meta", {}):
                    continue  # the ingest's load log and quarantine: not extracts
                columns, names = {}, {}
                for col in table["columns"]:
                    rule = dict(col.get("meta", {}).get("contract", {}))
                    if not rule:
                        continue
                    header = rule.get("delivered_as", col["name"])
                    if "values_from" in rule:
                        rule["values"] = seed_codes(rule["values_from"])
                    columns[header] = rule
                    names[col["name"]] = header
                record_id = [names[n] for n in table["meta"]["contract"]["record_id"]]
                contract[table["name"]] = {"columns": columns, "id": record_id}
    return contract


def parse_moment(kind: str, value: str) -> date | None:
    pattern = r"\d{4}-\d{2}-\d{2}" + (r" \d{2}:\d{2}:\d{2}" if kind == "timestamp" else "")
    if not re.fullmatch(pattern, value):
        return None
    try:
        if kind == "date":
            return date.fromisoformat(value)
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")  # type: ignore[return-value]
    except ValueError:
        return None


def row_ok(columns: dict[str, dict], row: dict[str, str], night: date) -> bool:
    moments = {}
    for header, rule in columns.items():
        value = row[header]
        condition = rule.get("required_when")
        if condition:
            other = row[condition["column"]]
            needed = other != "" if condition.get("is_set") else other == condition["equals"]
            if needed != (value != ""):
                return False
        elif value == "":
            if rule.get("required", True):
                return False
            continue
        if value == "":
            continue
        kind = rule["type"]
        if kind == "nhs_number" and not modulus_11_ok(value.replace(" ", "")):
            return False
        if kind == "code" and value not in rule["values"]:
            return False
        if kind == "text" and value != value.strip():
            return False
        if kind == "integer":
            if not re.fullmatch(r"[0-9]+", value):
                return False
            if not rule.get("min", 0) <= int(value) <= rule.get("max", 10**9):
                return False
        if kind in ("date", "timestamp"):
            moment = parse_moment(kind, value)
            as_date = moment.date() if isinstance(moment, datetime) else moment
            if moment is None or as_date > night:
                return False
            moments[header] = moment
    for header, rule in columns.items():
        earlier, later = moments.get(rule.get("not_before", "")), moments.get(header)
        if earlier is not None and later is not None and later < earlier:
            return False
    return True


@dataclass
class Landing:
    """The written files as the contract reads them."""

    files: dict[str, bytes]
    valid: dict[str, list[tuple[date, dict[str, str]]]]  # source -> (night, row)
    quarantined: Counter  # source -> rows
    rejected: list[str]


def read_landing(out: Path) -> Landing:
    contract = load_contract()
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.csv"))}
    landing = Landing(files, defaultdict(list), Counter(), [])
    for name, data in files.items():
        match = NAME.fullmatch(name)
        assert match, name
        source, night = match["source"], date.fromisoformat(match["night"])
        spec = contract[source]
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        header = next(reader)
        if not set(spec["columns"]) <= set(header):
            landing.rejected.append(name)
            continue
        rows = [dict(zip(header, fields, strict=True)) for fields in reader]
        ids = Counter(record_id(spec, row) for row in rows)
        for row in rows:
            if ids[record_id(spec, row)] == 1 and row_ok(spec["columns"], row, night):
                landing.valid[source].append((night, row))
            else:
                landing.quarantined[source] += 1
    return landing


def record_id(spec: dict, row: dict[str, str]) -> tuple[str, ...]:
    return tuple(row[c].replace(" ", "") if c == "student_ref" else row[c] for c in spec["id"])


def current(landing: Landing, source: str) -> list[dict[str, str]]:
    """The winning version of each record (latest updated_at, then later night), active."""
    spec = load_contract()[source]
    best: dict[tuple[str, ...], tuple[str, date, dict[str, str]]] = {}
    for night, row in landing.valid[source]:
        rid = record_id(spec, row)
        if rid not in best or (row["updated_at"], night) > best[rid][:2]:
            best[rid] = (row["updated_at"], night, row)
    return [row for _, _, row in best.values() if row["record_status"] == "active"]


def funded_students(landing: Landing, source: str, column: str, inst: str | None = None) -> int:
    lo, hi = (d.isoformat() for d in FUNDED_PERIOD)
    return len(
        {
            row["student_ref"].replace(" ", "")
            for row in current(landing, source)
            if lo <= row[column][:10] <= hi and inst in (None, row["institution_code"])
        }
    )


#: The calibrated figures: source, event date column, funded-period students.
FUNDED_FIGURES = (("liaison_contacts", "presented_at", 429), ("ucope_episodes", "referred_on", 299))
#: A later end on another weekday, in an academic year past the demand table (2027/28).
LATER_END = date(2027, 9, 15)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[Path, DemoSummary]:
    out = tmp_path_factory.mktemp("demo") / "landing"
    return out, write_demo_extracts(out, end=PINNED_DEMO_END)


@pytest.fixture(scope="module")
def landing(full) -> Landing:
    return read_landing(full[0])


@pytest.fixture(scope="module")
def later(tmp_path_factory) -> tuple[Path, DemoSummary]:
    out = tmp_path_factory.mktemp("demo-later") / "landing"
    return out, write_demo_extracts(out, end=LATER_END)


# ------------------------------------------------------------------ tests


def test_funded_period_gives_the_published_figures(landing):
    assert funded_students(landing, "liaison_contacts", "presented_at") == 429
    assert funded_students(landing, "ucope_episodes", "referred_on") == 299


def test_funded_figures_can_be_released_exactly(landing):
    """The partnership's funded count lies strictly inside the range its two institutions'
    rounded counts allow (at most their sum): else the funder page would round 429 or 299
    (the part of ``smhp.reporting.released``'s audit that the generator's streams decide)."""
    for source, column, total in FUNDED_FIGURES:
        parts = [funded_students(landing, source, column, inst) for inst in ("UOL", "LJMU")]
        bounds = [interval(suppress_count(n)) for n in parts]
        assert sum(parts) == total
        assert max(low for low, _ in bounds) < total < sum(high for _, high in bounds), parts


def test_the_funded_period_is_the_same_for_any_end(full, landing, later):
    """Every file of a funded-period night is the same, but the profiles of its last Saturday,
    which also carry the next academic year's profiles of students seen just after it."""
    later_out, summary = later
    assert summary.end == LATER_END and summary.files > full[1].files
    theirs = read_landing(later_out)
    funded = [
        n for n in landing.files if NAME.fullmatch(n)["night"] <= FUNDED_PERIOD[1].isoformat()
    ]
    differ = [n for n in funded if landing.files[n] != theirs.files[n]]
    assert differ == ["student_profiles/student_profiles_2022-07-30.csv"]
    for source, column, total in FUNDED_FIGURES:
        assert funded_students(theirs, source, column) == total
        for inst in ("UOL", "LJMU"):
            ours = funded_students(landing, source, column, inst)
            assert funded_students(theirs, source, column, inst) == ours


def test_figures_hold_for_the_first_of_the_two_demo_loads(tmp_path):
    write_demo_extracts(tmp_path, end=PINNED_DEMO_END, arrived_by=FIRST_LOAD)
    early = read_landing(tmp_path)
    assert funded_students(early, "liaison_contacts", "presented_at") == 429
    assert funded_students(early, "ucope_episodes", "referred_on") == 299


def test_only_the_planned_rows_and_file_break_the_contract(full, landing):
    _, summary = full
    assert landing.rejected == [summary.rejected_file]
    assert dict(landing.quarantined) == {s: n for s, n in summary.bad_rows_by_source.items() if n}
    assert sum(summary.bad_rows.values()) == sum(landing.quarantined.values())
    assert all(1 <= n <= 8 for n in summary.bad_rows_by_source.values())


def test_files_and_rows_follow_the_delivery_rules(full, landing):
    out, summary = full
    assert summary.files == len(landing.files) <= 5000
    assert summary.rows <= 60_000
    assert summary.header_only_files > 0
    for name, data in landing.files.items():
        assert NAME.fullmatch(name), name
        text = data.decode("utf-8")
        assert text.startswith("\ufeff") == name.startswith("student_profiles/")
        if name.startswith("referrals/"):
            assert text.count("\n") == text.count("\r\n")
        else:
            assert "\r" not in text
    extra = [n for n in landing.files if b"notes" in landing.files[n].split(b"\n")[0]]
    assert extra == list(summary.extra_column_files)


def test_records_change_over_nights_and_students_span_services(landing):
    versions = Counter(row["referral_id"] for _, row in landing.valid["referrals"])
    assert max(versions.values()) >= 3
    outcomes = Counter(row["outcome"] for row in current(landing, "referrals"))
    assert {"waiting", "seen", "did_not_attend"} <= set(outcomes)
    refs = {
        source: {row["student_ref"].replace(" ", "") for _, row in landing.valid[source]}
        for source in SOURCES
    }
    assert refs["liaison_contacts"] & refs["referrals"] & refs["ucope_episodes"]
    spaced = [r for _, r in landing.valid["referrals"] if " " in r["student_ref"]]
    assert spaced
    per_student = defaultdict(set)
    for row in current(landing, "student_profiles"):
        per_student[row["student_ref"].replace(" ", "")].add(row["institution_code"])
    assert any(insts >= {"UOLIC", "UOL"} for insts in per_student.values())


def test_profiles_arrive_no_later_than_a_students_first_record(landing):
    first_profile: dict[tuple[str, str], date] = {}
    for night, row in landing.valid["student_profiles"]:
        key = (row["student_ref"].replace(" ", ""), row["institution_code"])
        first_profile[key] = min(first_profile.get(key, night), night)
    for source in SOURCES[:-1]:
        for night, row in landing.valid[source]:
            key = (row["student_ref"].replace(" ", ""), row["institution_code"])
            assert first_profile[key] <= night, (source, night)


def test_two_runs_in_different_processes_write_identical_bytes(full, tmp_path):
    script = "import sys, pathlib, datetime; from smhp.demo import write_demo_extracts as w; "
    script += "w(pathlib.Path(sys.argv[1]), end=datetime.date.fromisoformat(sys.argv[2]))"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    end = PINNED_DEMO_END.isoformat()
    subprocess.run([sys.executable, "-c", script, str(tmp_path), end], check=True, env=env)
    out, _ = full
    ours = {p.relative_to(out): p.read_bytes() for p in out.rglob("*.csv")}
    theirs = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*.csv")}
    assert ours == theirs


@pytest.mark.parametrize("end", [PINNED_DEMO_END, LATER_END])  # a Saturday, a Wednesday
def test_arrivals_resend_correction_and_late_file(tmp_path, end):
    first = write_demo_extracts(tmp_path, end=end, arrived_by=Timeline(end).first_load)
    late = first.late_files[-1]
    resent, corrected = tmp_path / first.resent_file, tmp_path / first.corrected_file
    assert not (tmp_path / late).exists() and not (tmp_path / first.rejected_file).exists()
    assert resent.exists() and corrected.exists()
    old = time.time_ns() - 10**12
    for path in tmp_path.rglob("*.csv"):
        os.utime(path, ns=(old, old))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.csv")}

    second = write_demo_extracts(tmp_path, end=end, arrived_by=end)
    assert (tmp_path / late).exists() and (tmp_path / second.rejected_file).exists()
    assert resent.read_bytes() == before[resent] and resent.stat().st_mtime_ns != old
    assert corrected.read_bytes() != before[corrected]
    touched = {p for p in before if p.stat().st_mtime_ns != old}
    assert touched == {resent, corrected}
    new_files = second.files - first.files
    assert second.files_written == new_files + 2

    third = write_demo_extracts(tmp_path, end=end)
    assert third.files_written == 0 and third.files_unchanged == second.files
