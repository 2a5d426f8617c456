"""The ingest gives exactly what the row-by-row ingest gave, on the demo landing and on a
seeded landing full of bad input.

The digests below were computed with the row-by-row ingest (``smhp.pipeline.ingest`` before
it checked whole batches of files, commit "golden digests of the row-by-row ingest"): every
column of ``raw.load_log`` (but the files' mtimes, which the landing's writer decides),
``raw.quarantine`` and each raw table, in a stable order, with its types. A change to the
ingest that moves one value, one row number, one reason or one pseudonym changes a digest.
A change to the demo generator changes ``DEMO_DIGEST`` legitimately: recompute it with
``python tests/test_ingest_vectorised.py`` on a commit whose ingest is trusted.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from extracts import (
    TEST_KEY,
    case_discussion,
    csv_bytes,
    liaison,
    nhs_number,
    profile,
    referral,
    ucope,
)

from smhp.demo import write_demo_extracts
from smhp.demo.timeline import PINNED_DEMO_END
from smhp.pipeline import ingest as ingest_module
from smhp.pipeline.batch_checks import PYTHON_SPACES, proven_valid
from smhp.pipeline.contract import load_contract
from smhp.pipeline.ingest import ingest
from smhp.pipeline.validate import check_row

#: Per raw table: sha256 of its types and sorted rows, from the row-by-row ingest.
DEMO_DIGEST: dict[str, str] = {
    "load_log": "4247:1506fdbbe472004659b49e87deba97ca817c79f78a0d8e82a031ac34c876abd2",
    "quarantine": "23:a87699178a500afd825dcc50702d335b0a3bd7c0365917ca11fd5d9a6f1492ee",
    "case_discussions": "1696:2bac7d73aa635f80ac406bcd2a5c6a30e0a18d4e1a71e0fc4a36e857c1e0c805",
    "liaison_contacts": "2641:97979156becfed10918f9e62e9c5794f1ea26605d2751c156313171c09602fb3",
    "referrals": "30699:434bb64c2e5096ec5523b10592cec61d4db509670332d83087b2ab96f0f7c54d",
    "student_profiles": "15165:23e8c4a90d3741330245be8e7b87b106d2f4a731f4a7541c0e01cbd82407f7ff",
    "ucope_episodes": "3974:e2be067b2dbe90d7008280aff159f8d4d2c48a83c6a446157bf7f294a321ea12",
}
MESSY_DIGEST: dict[str, str] = {
    "load_log": "38:24e38cb1c6a88083981d2ea61567a8a26dec34d8b30236a78c4e75458fef4c68",
    "quarantine": "637:8bcd61fb79daf930739e9deea43e380be868f096abc2f17066dd622a15889aee",
    "case_discussions": "83:0969d32b4a7199bad6b02520d70bc6c9da875b0aa7605b86db5b9453c1d0820f",
    "liaison_contacts": "39:dfc4d75617a9f73d5dd539d6676df18e559fb709560da6ac97cc741125bbab89",
    "referrals": "69:511fdf92cda25c744d017587ee39188cd15c98411019cf2852da27412558fe5e",
    "student_profiles": "72:7b63a78037f419436e0ccbedc60a6c2801de0914f897ceb2e0909af6959f6496",
    "ucope_episodes": "71:776bfb0b2af5baf3f6ea1c9ddc6adfac408722137a90a8f9e2fe78d9d51feda5",
}

_NOW = datetime(2024, 3, 10, 2, 0)


def warehouse_digest(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Per raw table: sha256 of its column names and types and all its rows, sorted."""
    digests = {}
    for table in ("load_log", "quarantine", *sorted(load_contract())):
        described = con.execute(f"describe raw.{table}").fetchall()
        columns = [(name, dtype) for name, dtype, *_ in described if name != "mtime_ns"]
        select = ", ".join(f'"{name}"' for name, _ in columns)
        rows = con.execute(f"select {select} from raw.{table} order by all").fetchall()
        digest = hashlib.sha256(repr(columns).encode())
        for row in rows:
            digest.update(repr(row).encode())
        digests[table] = f"{len(rows)}:{digest.hexdigest()}"
    return digests


def demo_digest(folder: Path) -> dict[str, str]:
    """The digest of the pinned demo's landing ingested into a fresh warehouse."""
    landing = folder / "landing"
    write_demo_extracts(landing, end=PINNED_DEMO_END)
    con = duckdb.connect(str(folder / "wh.duckdb"))
    try:
        today = PINNED_DEMO_END + timedelta(days=1)
        ingest(con, landing, TEST_KEY, "run", datetime.combine(today, datetime.min.time()), today)
        return warehouse_digest(con)
    finally:
        con.close()


# --- a seeded landing of bad input ------------------------------------------------------

_BUILDERS = {
    "liaison_contacts": lambda rid, s: liaison(f"C{rid}", s),
    "case_discussions": lambda rid, s: case_discussion(f"D{rid}", s, contact_id=f"C{rid}"),
    "referrals": lambda rid, s: referral(f"R{rid}", s),
    "ucope_episodes": lambda rid, s: ucope(f"E{rid}", s),
    "student_profiles": lambda rid, s: profile(s),
}

#: Values that break (or nearly break) some rule: spaces, case, calendar, clock, range,
#: non-ASCII digits and spaces, check digits, and values valid for another column.
_TRICKY = [
    "",
    " ",
    "x ",
    " x",
    "\u00a0x",
    "x\u2003",
    "x\x1f",
    "UOL",
    "UOL ",
    "uol",
    "Uol",
    "LJMU",
    "unknown",
    "referral",
    "signposting",
    "seen",
    "deleted",
    "Active",
    "gp",
    "crisis_team",
    "completed",
    "2024-02-29",
    "2023-02-29",
    "2024-02-30",
    "2024-3-01",
    "2024-03-05",
    "2024-03-06",
    "2024-03-07",
    "2099-01-01",
    "0000-01-01",
    "0001-01-01",
    "04/03/2024",
    "\u0662\u0660\u0662\u0664-03-01",
    "2024-03-01 10:00:00",
    "2024-03-04 23:59:59",
    "2024-03-07 00:00:00",
    "2024-03-01 24:00:00",
    "2024-03-01 23:60:00",
    "2024-03-01 23:59:60",
    "2024-03-01T10:00:00",
    "2024-03-01 10:00:00 ",
    "2024-03-01 10:00",
    "2024-02-30 10:00:00",
    "\u0662\u0660\u0662\u0664-03-01 10:00:00",
    "0",
    "1",
    "7",
    "8",
    "40",
    "41",
    "007",
    "-1",
    "+3",
    "1.0",
    "1e3",
    "\u0663",
    "99999999999999999999",
    "9434765919",
    "943 476 5919",
    " 9434765919",
    "9434765918",
    "943476591",
    "94347659190",
    "\u0669434765919",
    "9999999999",
    "0000000000",
]


def _mutate(rng: random.Random, row: dict[str, str]) -> None:
    """Set one to three columns of ``row`` to tricky values (or another row's values)."""
    for _ in range(rng.randint(1, 3)):
        column = rng.choice(list(row))
        row[column] = rng.choice(_TRICKY)


def _has_number(serial: int) -> bool:
    try:
        return bool(nhs_number(serial))
    except ValueError:  # the helper's skip goes past 9 digits for some serials
        return False


_STUDENTS = [serial for serial in range(1, 150) if _has_number(serial)]


def _messy_rows(rng: random.Random, source: str, n: int) -> list[dict]:
    rows = []
    for _ in range(n):
        student = rng.choice(_STUDENTS)
        row = _BUILDERS[source](rng.randrange(400), student)
        if rng.random() < 0.2:
            ref = row["student_ref"]
            row["student_ref"] = f"{ref[:3]} {ref[3:6]} {ref[6:]}"
        if rng.random() < 0.35:
            _mutate(rng, row)
        rows.append(row)
    return rows


def _write(path: Path, data: bytes, mtime_ns: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def write_messy_landing(landing: Path, rng: random.Random, night: int) -> None:
    """Night 0: a few files a source, most rows fine, a third broken somehow, plus odd
    files. Night 1: one file corrected, one re-sent, one newly broken, one new."""
    mtime = 1_700_000_000_000_000_000 + night * 1_000_000_000
    contracts = load_contract()
    for source, contract in contracts.items():
        header = list(contract.delivered_columns)
        for day in (1, 3, 4, 5) if night == 0 else (5, 6):
            name = landing / source / f"{source}_2024-03-0{day}.csv"
            if night == 1 and day == 5 and source in ("referrals", "student_profiles"):
                os.utime(name, ns=(mtime, mtime))  # a re-send: same bytes, touched
                continue
            rows: list = _messy_rows(rng, source, rng.randint(0, 60))
            cols = list(header)
            if rng.random() < 0.3:
                cols = rng.sample(cols, len(cols)) + ["free_text"]
            if rng.random() < 0.3 and rows:
                rows.insert(rng.randrange(len(rows)), [rows[0][cols[0]], "short"])
            data = csv_bytes(cols, rows, newline=rng.choice(["\n", "\r\n"]), bom=rng.random() < 0.3)
            if rng.random() < 0.3:
                data = data.replace(b"\n", b"\n\n", 2)  # blank lines are not rows
            _write(name, data, mtime)
    odd = {
        "liaison_contacts/liaison_contacts_2024-03-02.csv": b"\xe9,x\n",
        "referrals/referrals_2024-03-02.csv": b"",
        "ucope_episodes/ucope_episodes_2024-03-02.csv": (
            csv_bytes(list(contracts["ucope_episodes"].delivered_columns), []) + b'"E1,\n'
        ),
        "ucope_episodes/ucope_episodes_2024-02-29.csv": (
            csv_bytes(["episode_id", *contracts["ucope_episodes"].delivered_columns], [])
        ),
        "case_discussions/case_discussions_2024-03-02.csv": b"discussion_id,x\nD1,2\n",
        "case_discussions/case_discussions_2024-03-11.csv": b"discussion_id\n",
        "student_profiles/profiles_2024-03-02.csv": b"student_ref\n",
        "appointments/appointments_2024-03-02.csv": b"a\n",
    }
    if night == 0:
        for relative, data in odd.items():
            _write(landing / relative, data, mtime)
        quoted = csv_bytes(
            list(contracts["referrals"].delivered_columns),
            [referral("R\n900", 9), referral("R901", 7, closed_on='"')],
        )
        _write(landing / "referrals" / "referrals_2024-03-02.csv", quoted, mtime)


def messy_digest(folder: Path) -> dict[str, str]:
    """Two nights of the seeded messy landing into one warehouse."""
    rng = random.Random(20241130)
    landing = folder / "landing"
    con = duckdb.connect(str(folder / "wh.duckdb"))
    try:
        for night in (0, 1):
            write_messy_landing(landing, rng, night)
            ingest(con, landing, TEST_KEY, f"run{night}", _NOW, date(2024, 3, 10))
        return warehouse_digest(con)
    finally:
        con.close()


def test_python_spaces_are_the_characters_str_strip_removes() -> None:
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert every == PYTHON_SPACES


@pytest.mark.parametrize("source", sorted(_BUILDERS))
def test_a_row_proven_valid_over_columns_is_valid_row_by_row(source: str) -> None:
    """Every tricky value in every column (and in pairs of columns): where the column checks
    prove a row valid, ``check_row`` finds no problem; plain valid rows are proven."""
    contract = load_contract()[source]
    base = _BUILDERS[source](1, 1)
    ref = base["student_ref"]
    plain = [dict(base), {**base, "student_ref": f"{ref[:3]} {ref[3:6]} {ref[6:]}"}]
    plain += [{**base, "student_ref": nhs_number(serial)} for serial in _STUDENTS]
    rows = list(plain)
    for column in contract.delivered_columns:
        for value in _TRICKY:
            rows.append({**base, column: value})
    rng = random.Random(7)
    for _ in range(3000):
        row = dict(base)
        _mutate(rng, row)
        rows.append(row)
    extract_date = date(2024, 3, 5)
    columns = {
        name: pa.array([row[name] for row in rows], pa.string())
        for name in contract.delivered_columns
    }
    proven = proven_valid(contract, columns, np.full(len(rows), 20240305))
    valid = [not check_row(contract, row, extract_date) for row in rows]
    assert proven[: len(plain)].all()
    assert not [row for row, p, v in zip(rows, proven, valid, strict=True) if p and not v]
    assert sum(valid) - sum(proven) <= 0.02 * len(rows)  # few valid rows go the slow way


#: Plain files (no quote, no NUL, no lone CR) that Arrow's reader reads whole, or hands to
#: Arrow's split (a row of another length), as the csv module reads them. "{h}" is the
#: header (the contract's columns and one outside it), "{m}" the empty middle columns.
PLAIN_FILES = {
    "rows": "{h}\nR1,943 476 5919{m},a\nR2,{m},\n",
    "CRLF, BOM and a last line without newline": "\ufeff{h}\r\nR1,1{m},a\r\nR2,2{m}, b ",
    "blank lines": "{h}\n\nR1,1{m},a\n\n\nR2,1{m},\n\n",
    "header only": "{h}\n",
    "a short and a long row": "{h}\nR1,x\nR2,1{m},a,b\nR3,1{m},c\n",
    "spaces and tabs kept": "{h}\n R1 ,\t1{m},a\t\n",
}


@pytest.mark.parametrize("name", sorted(PLAIN_FILES))
def test_a_plain_file_reads_as_the_csv_module_reads_it(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = load_contract()["referrals"]
    header = [*contract.delivered_columns, "note"]
    middle = "," * (len(header) - 3)
    data = PLAIN_FILES[name].format(h=",".join(header), m=middle).encode("utf-8")
    read = {}
    for split_lines in (10**9, 0):  # the csv module, then Arrow
        monkeypatch.setattr(ingest_module, "PLAIN_SPLIT_LINES", split_lines)
        parsed = ingest_module.parse_extract(data, contract)
        read[split_lines] = (
            parsed.rows_read,
            list(parsed.row_numbers),
            parsed.miscounted,
            parsed.dropped_columns,
            {n: [str(v) for v in parsed.columns[n]] for n in contract.delivered_columns},
        )
    assert parsed.split_by_arrow
    assert read[0] == read[10**9]
    assert parsed.rows_read == len(parsed.row_numbers) + len(parsed.miscounted)
    by_reader = ingest_module._read_plain(data, header)
    assert (by_reader is None) == bool(parsed.miscounted)


#: As the ingest runs (long plain files split by Arrow), and with every plain file split so.
SPLITS = pytest.mark.parametrize("plain_split_lines", [ingest_module.PLAIN_SPLIT_LINES, 0])


@SPLITS
def test_messy_landing_gives_what_the_row_by_row_ingest_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plain_split_lines: int
) -> None:
    monkeypatch.setattr(ingest_module, "PLAIN_SPLIT_LINES", plain_split_lines)
    assert messy_digest(tmp_path) == MESSY_DIGEST


def test_messy_landing_gives_the_same_in_small_batches_over_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many batches and read groups, done by threads in any order, are logged and written
    as one thread would: the batches of a source checked apart, the file ids in scan order."""
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", 40)
    monkeypatch.setattr(ingest_module, "READ_GROUP", 1)
    monkeypatch.setattr(ingest_module, "WORKERS", 3)
    assert messy_digest(tmp_path) == MESSY_DIGEST


@pytest.mark.slow
@SPLITS
def test_demo_landing_gives_what_the_row_by_row_ingest_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plain_split_lines: int
) -> None:
    monkeypatch.setattr(ingest_module, "PLAIN_SPLIT_LINES", plain_split_lines)
    assert demo_digest(tmp_path) == DEMO_DIGEST


if __name__ == "__main__":  # print the digests of the ingest as it is now
    import tempfile

    with tempfile.TemporaryDirectory() as messy, tempfile.TemporaryDirectory() as demo:
        print("MESSY_DIGEST =", messy_digest(Path(messy)))
        print("DEMO_DIGEST =", demo_digest(Path(demo)))
    sys.exit(0)
