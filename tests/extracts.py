"""Helpers for writing small extract files by hand in tests."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import duckdb

#: The tests' pseudonymisation key: fixed (so expected pseudonyms are stable), in the
#: `smhp keygen` format; the 32 bytes it decodes to are the HMAC key.
TEST_KEY_HEX = "5f1e9c07a3d24b68e0c1f7a9b3d5e8021c4a6f8e0b2d4c6a8f1e3b5d7c9a0e2f"
TEST_KEY = bytes.fromhex(TEST_KEY_HEX)
#: The installed `smhp` command, run in subprocesses as a user would run it.
SMHP = str(Path(sys.executable).parent / "smhp")
#: The environment of a nightly run in the tests: a test key, no dbt tracking.
#: The tests' nightly runs: the test key, and no packs or alerts after them (the add-ons are
#: tested on their own: tests/test_addons.py, test_packs.py, test_alerts.py; the demo build
#: runs them as `make demo` does).
NIGHTLY_ENV = dict(
    os.environ,
    SMHP_PSEUDONYM_KEY=TEST_KEY_HEX,
    DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    SMHP_ADDONS="",
    SMHP_DBT_THREADS="1",  # three workers share two cores: more threads would only add CPU
)


def run_smhp(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """The real ``smhp`` command with ``args``, as a user runs it, in the tests' nightly
    environment unless ``env`` is given; output captured as text."""
    return subprocess.run(
        [SMHP, *args], capture_output=True, text=True, env=env or NIGHTLY_ENV, timeout=300, **kwargs
    )


def run_nightly(
    landing: Path, warehouse: Path, *extra: str, env: dict | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """``smhp nightly --landing LANDING --warehouse WAREHOUSE [extra...]``."""
    args = ("nightly", "--landing", str(landing), "--warehouse", str(warehouse), *extra)
    return run_smhp(*args, env=env, **kwargs)


def nhs_number(serial: int) -> str:
    """The ``serial``-th valid NHS number of the 999 test range (modulus 11, checked here
    independently of the code under test)."""
    n = serial
    while True:
        base = f"999{n:06d}"
        total = sum(int(d) * w for d, w in zip(base, range(10, 1, -1), strict=True))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            return base + str(check)
        n += 1_000_000  # skip numbers with no valid check digit, deterministically


def csv_bytes(
    header: list[str], rows: list[dict | list], newline: str = "\n", bom: bool = False
) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def write_extract(
    landing: Path,
    source: str,
    day: str,
    rows: list[dict],
    header: list[str] | None = None,
    **kwargs: object,
) -> Path:
    """Write ``landing/<source>/<source>_<day>.csv`` with the contract header (or ``header``)."""
    from smhp.pipeline.contract import load_contract

    header = header or list(load_contract()[source].delivered_columns)
    path = landing / source / f"{source}_{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes(header, rows, **kwargs))  # type: ignore[arg-type]
    return path


def liaison(contact_id: str, student: int, **overrides: str) -> dict:
    row = {
        "contact_id": contact_id,
        "student_ref": nhs_number(student),
        "institution_code": "UOL",
        "presented_at": "2024-03-01 22:15:00",
        "setting": "emergency_department",
        "outcome": "brief_intervention",
        "referred_to": "",
        "university_informed_at": "2024-03-02 09:00:00",
        "updated_at": "2024-03-02 09:05:00",
        "record_status": "active",
    }
    row.update(overrides)
    return row


def referral(referral_id: str, student: int, **overrides: str) -> dict:
    row = {
        "referral_id": referral_id,
        "student_ref": nhs_number(student),
        "institution_code": "UOL",
        "source": "gp",
        "service_code": "talking_therapies",
        "referred_on": "2024-03-01",
        "first_appointment_on": "",
        "outcome": "waiting",
        "closed_on": "",
        "updated_at": "2024-03-01 12:00:00",
        "record_status": "active",
    }
    row.update(overrides)
    return row


def ucope(episode_id: str, student: int, **overrides: str) -> dict:
    row = {
        "episode_id": episode_id,
        "student_ref": nhs_number(student),
        "institution_code": "UOL",
        "referral_source": "liaison_service",
        "referred_on": "2024-03-01",
        "assessed_on": "",
        "discharged_on": "",
        "discharge_reason": "",
        "sessions_attended": "0",
        "core10_start": "",
        "core10_end": "",
        "updated_at": "2024-03-01 12:00:00",
        "record_status": "active",
    }
    row.update(overrides)
    return row


def case_discussion(discussion_id: str, student: int, **overrides: str) -> dict:
    row = {
        "discussion_id": discussion_id,
        "student_ref": nhs_number(student),
        "institution_code": "UOL",
        "contact_id": "",
        "discussed_on": "2024-03-04",
        "agreed_pathway": "university_wellbeing",
        "pathway_started_on": "",
        "updated_at": "2024-02-28 12:00:00",
        "record_status": "active",
    }
    row.update(overrides)
    return row


def profile(student: int, **overrides: str) -> dict:
    row = {
        "student_ref": nhs_number(student),
        "institution_code": "UOL",
        "age_band": "under_21",
        "sex": "female",
        "ethnic_group": "white",
        "study_level": "undergraduate",
        "year_of_study": "1",
        "domicile": "home",
        "updated_at": "2024-02-01 08:00:00",
        "record_status": "active",
    }
    row.update(overrides)
    return row


def table_dump(warehouse: Path, sql: str) -> list[tuple]:
    """The rows of ``sql`` on the published warehouse, opened read-only and closed."""
    con = duckdb.connect(os.path.realpath(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
