"""The pseudonymisation key: `smhp keygen`, what loading accepts, the demo key's folder, and
the fingerprint that stops a run with a changed key (and the rotation that changes it).

The key rules run in-process against ``smhp.pipeline.keys``; the runs are the real `smhp` command
in subprocesses (real dbt build): a first run, a run with another key (refused before it
touches anything), a rotation (full reload with the new key) and a rotation that would
lose an extract (blocked).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import stat
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from extracts import (
    NIGHTLY_ENV,
    TEST_KEY,
    TEST_KEY_HEX,
    nhs_number,
    referral,
    table_dump,
    write_extract,
)
from extracts import run_nightly as nightly
from extracts import run_smhp as smhp

from smhp.pipeline.history import PUBLISHED, HistoryStore, RunRecord
from smhp.pipeline.keys import (
    DEMO_MARKER,
    KeyChanged,
    check_key_for,
    check_unchanged,
    demo_key,
    fingerprint,
    load_key,
    mark_demo_folder,
)
from smhp.pipeline.nightly import run_nightly
from smhp.pipeline.pseudonymise import Pseudonymiser
from smhp.pipeline.reporter import Reporter
from smhp.settings import Settings, SettingsError

OTHER_KEY_HEX = "c3a17e59d2f04b86a1e9c5370d8f2b64e7a3195cb0d48f26e1c7a935b2d06f84"

pytestmark = pytest.mark.slow  # real `smhp nightly` runs (dbt build)


def with_key(hex_key: str) -> dict[str, str]:
    env = {k: v for k, v in NIGHTLY_ENV.items() if not k.startswith("SMHP_PSEUDONYM_KEY")}
    return dict(env, SMHP_PSEUDONYM_KEY=hex_key)


# --- keygen -------------------------------------------------------------------------------


def test_keygen_writes_a_private_random_key_and_shows_only_its_fingerprint(tmp_path):
    out = tmp_path / "pseudonym.key"
    done = smhp("keygen", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="ascii")
    assert re.fullmatch(r"[0-9a-f]{64}\n", text)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key = bytes.fromhex(text.strip())
    assert fingerprint(key) in done.stdout
    assert text.strip() not in done.stdout + done.stderr
    assert smhp("keygen", "--out", str(tmp_path / "second.key")).returncode == 0
    assert (tmp_path / "second.key").read_text() != text  # random, not derived

    again = smhp("keygen", "--out", str(out))
    assert again.returncode == 1
    assert "exists" in again.stderr and "refusing to overwrite" in again.stderr
    assert out.read_text(encoding="ascii") == text


# --- loading ------------------------------------------------------------------------------


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("SMHP_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("SMHP_PSEUDONYM_KEY_FILE", raising=False)
    return monkeypatch


def test_a_keygen_key_loads_from_the_variable_or_the_file_which_wins(no_key, tmp_path):
    no_key.setenv("SMHP_PSEUDONYM_KEY", f"  {TEST_KEY_HEX}\n")  # whitespace around is fine
    assert load_key() == TEST_KEY
    key_file = tmp_path / "key"
    key_file.write_text(OTHER_KEY_HEX + "\n")
    key_file.chmod(0o600)
    no_key.setenv("SMHP_PSEUDONYM_KEY_FILE", str(key_file))
    assert load_key() == bytes.fromhex(OTHER_KEY_HEX)
    key_file.chmod(0o400)
    assert load_key() == bytes.fromhex(OTHER_KEY_HEX)


@pytest.mark.parametrize(
    "value",
    [
        "correct horse battery staple, a long passphrase",
        "test-key-not-a-secret-0123456789",  # the tests' key before keygen
        "smhp-demo-only-pseudonym-key:synthetic-data-never-real",  # the demo key's text
        TEST_KEY_HEX[:32],  # too short
        TEST_KEY_HEX + "00",  # too long
        "g" * 64,  # not hex
        "a1b2" * 16,  # four distinct digits
        "0123456789abcdef" * 4,  # all digits, but a pattern
        "00112233445566778899aabbccddeeff" * 2,
    ],
)
def test_anything_but_a_keygen_key_is_refused_without_showing_it(no_key, value):
    no_key.setenv("SMHP_PSEUDONYM_KEY", value)
    with pytest.raises(SettingsError) as refused:
        load_key()
    message = str(refused.value)
    assert "SMHP_PSEUDONYM_KEY" in message and "smhp keygen" in message
    assert value not in message


def test_the_same_refusal_from_the_file(no_key, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("a passphrase someone typed in\n")
    key_file.chmod(0o600)
    no_key.setenv("SMHP_PSEUDONYM_KEY_FILE", str(key_file))
    with pytest.raises(SettingsError, match="SMHP_PSEUDONYM_KEY_FILE.*smhp keygen") as refused:
        load_key()
    assert "passphrase someone" not in str(refused.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(no_key, tmp_path, mode):
    key_file = tmp_path / "key"
    key_file.write_text(TEST_KEY_HEX + "\n")
    key_file.chmod(mode)
    no_key.setenv("SMHP_PSEUDONYM_KEY_FILE", str(key_file))
    with pytest.raises(SettingsError) as refused:
        load_key()
    assert str(key_file) in str(refused.value) and "chmod 600" in str(refused.value)
    assert TEST_KEY_HEX not in str(refused.value)


def test_a_run_with_a_passphrase_stops_with_exit_code_2_and_never_echoes_it(tmp_path):
    passphrase = "our partnership secret 2024 !"
    done = nightly(
        tmp_path,
        tmp_path / "var" / "w.duckdb",
        env=with_key(passphrase),
    )
    assert done.returncode == 2
    assert "SMHP_PSEUDONYM_KEY" in done.stderr and "smhp keygen" in done.stderr
    assert passphrase not in done.stdout + done.stderr
    assert not (tmp_path / "var").exists()


# --- fingerprint --------------------------------------------------------------------------


def test_a_student_key_is_the_hmac_of_the_ref_s_digits_under_the_key():
    pseudonymise = Pseudonymiser(TEST_KEY)
    ref = nhs_number(1)
    want = hmac.new(TEST_KEY, ref.encode("ascii"), hashlib.sha256).hexdigest()
    spaced = f"{ref[:3]} {ref[3:6]} {ref[6:]}"
    assert pseudonymise(ref) == pseudonymise(spaced) == pseudonymise(ref) == want
    assert Pseudonymiser(bytes.fromhex(OTHER_KEY_HEX))(ref) != want  # keyed
    assert pseudonymise(nhs_number(2)) != want


def test_a_column_of_refs_gets_each_ref_s_hmac_in_order_under_any_key_length():
    """The ingest keys whole columns at once (in DuckDB): the same HMAC, row for row,
    over a column as long as a large batch (many of DuckDB's vectors); a key longer than
    SHA-256's block is hashed first, as RFC 2104 says."""
    refs = [str(9_990_000_000 + i) for i in range(150_000)]  # digits: the HMAC checks none
    for key in (TEST_KEY, b"k" * 100):
        keys = Pseudonymiser(key).keys(pa.array(refs, pa.string())).to_pylist()
        assert keys == [hmac.new(key, r.encode("ascii"), hashlib.sha256).hexdigest() for r in refs]


def test_the_fingerprint_names_the_key_without_revealing_it():
    expected = hmac.new(TEST_KEY, b"smhp pseudonym key fingerprint v1", hashlib.sha256)
    assert fingerprint(TEST_KEY) == expected.hexdigest()[:16]
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint(TEST_KEY))
    assert fingerprint(TEST_KEY) != fingerprint(bytes.fromhex(OTHER_KEY_HEX))
    assert fingerprint(TEST_KEY) not in TEST_KEY_HEX


def test_history_from_before_fingerprints_accepts_any_key(tmp_path):
    store = HistoryStore(tmp_path / "history")
    old = json.loads(
        RunRecord(run_id="20240301T020000000000Z", started_at=datetime(2024, 3, 1)).to_json()
    )
    del old["key_fingerprint"]  # a record written before this release
    old["outcome"] = PUBLISHED
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "20240301T020000000000Z.json").write_text(json.dumps(old))
    (record,) = store.records()
    assert record.key_fingerprint is None
    assert store.published_key_fingerprint() is None
    check_unchanged(TEST_KEY, store.published_key_fingerprint())  # accepted
    with pytest.raises(KeyChanged):
        check_unchanged(TEST_KEY, fingerprint(bytes.fromhex(OTHER_KEY_HEX)))


# --- the demo key -------------------------------------------------------------------------


def test_the_demo_key_works_only_for_the_demo_folder(tmp_path):
    warehouse = tmp_path / "live" / "warehouse.duckdb"
    settings = Settings.from_env(landing=tmp_path / "landing", warehouse=warehouse)
    with pytest.raises(SettingsError, match="the demo key works only for the demo folder"):
        run_nightly(settings, demo_key(), Reporter())
    assert not warehouse.parent.exists()  # refused before anything was made
    demo = tmp_path / "demo"
    mark_demo_folder(demo)
    assert (demo / DEMO_MARKER).is_file()
    check_key_for(demo_key(), demo / "warehouse.duckdb")  # accepted there
    with pytest.raises(SettingsError):
        check_key_for(demo_key(), demo / "sub" / "warehouse.duckdb")
    check_key_for(TEST_KEY, warehouse)  # any other key anywhere


# --- runs: a changed key stops, a rotation reloads ----------------------------------------


def pseudonyms(warehouse: Path) -> set[str]:
    return {k for (k,) in table_dump(warehouse, "select student_key from raw.referrals")}


def runs(warehouse: Path) -> list[tuple]:
    return table_dump(
        warehouse,
        "select run_id, outcome, key_fingerprint from ops.runs order by started_at, run_id",
    )


def hmac_of(hex_key: str, serial: int) -> str:
    """The expected pseudonym, computed here independently of the code under test."""
    digits = nhs_number(serial).encode("ascii")
    return hmac.new(bytes.fromhex(hex_key), digits, hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("keys")
    landing, warehouse = base / "landing", base / "var" / "warehouse.duckdb"
    write_extract(landing, "referrals", "2024-03-01", [referral("R1", 1), referral("R2", 2)])
    write_extract(
        landing,
        "referrals",
        "2024-03-05",
        [referral("R3", 3, referred_on="2024-03-05", updated_at="2024-03-05 09:00:00")],
    )
    done = nightly(landing, warehouse)
    assert done.returncode == 3, done.stderr  # published with warnings (2024 data is stale)
    return landing, warehouse


def test_each_run_records_its_key_fingerprint_never_the_key(first_run):
    _, warehouse = first_run
    ((_, outcome, recorded),) = runs(warehouse)
    assert outcome == "published_with_warnings" and recorded == fingerprint(TEST_KEY)
    work = warehouse.with_name(warehouse.name + ".work")
    (record,) = (work / "history").glob("2*.json")
    assert json.loads(record.read_text())["key_fingerprint"] == fingerprint(TEST_KEY)
    for path in [*work.rglob("*.json"), *work.rglob("*.log")]:
        assert TEST_KEY_HEX not in path.read_text(encoding="utf-8", errors="replace")
    assert pseudonyms(warehouse) == {hmac_of(TEST_KEY_HEX, n) for n in (1, 2, 3)}


def test_a_changed_key_stops_the_run_before_it_loads_anything(first_run):
    landing, warehouse = first_run
    work = warehouse.with_name(warehouse.name + ".work")
    before = (os.readlink(warehouse), sorted(work.rglob("*")))
    done = nightly(
        landing,
        warehouse,
        env=with_key(OTHER_KEY_HEX),
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()  # one line, nothing else
    assert "key has changed" in line and "split every student in two" in line
    new, old = fingerprint(bytes.fromhex(OTHER_KEY_HEX)), fingerprint(TEST_KEY)
    assert new in line and old in line and "--rotate-key" in line
    assert OTHER_KEY_HEX not in done.stdout + done.stderr
    assert (os.readlink(warehouse), sorted(work.rglob("*"))) == before  # nothing touched


def test_a_rotation_that_would_lose_an_extract_is_blocked(first_run):
    landing, warehouse = first_run
    published = os.readlink(warehouse)
    moved = landing / "referrals" / "referrals_2024-03-05.csv"
    aside = landing.parent / "aside.csv"
    moved.rename(aside)
    try:
        done = nightly(
            landing,
            warehouse,
            "--rotate-key",
            env=with_key(OTHER_KEY_HEX),
        )
    finally:
        aside.rename(moved)
    assert done.returncode == 4, done.stderr
    assert "referrals/referrals_2024-03-05.csv" in done.stderr.splitlines()[-1]
    assert pseudonyms(warehouse) == {hmac_of(TEST_KEY_HEX, n) for n in (1, 2, 3)}
    assert runs(warehouse)[-1][1] == "blocked"  # recorded; the data is the old one
    assert os.readlink(warehouse) != published  # republished history only


def test_rotation_reloads_everything_with_the_new_key(first_run):
    landing, warehouse = first_run
    done = nightly(
        landing,
        warehouse,
        "--rotate-key",
        env=with_key(OTHER_KEY_HEX),
    )
    assert done.returncode == 3, done.stderr
    assert "key rotation: full reload" in done.stderr
    assert "files: 2 loaded" in done.stderr  # read again, not "unchanged"
    assert pseudonyms(warehouse) == {hmac_of(OTHER_KEY_HEX, n) for n in (1, 2, 3)}
    history = runs(warehouse)
    assert history[-1][1:] == ("published_with_warnings", fingerprint(bytes.fromhex(OTHER_KEY_HEX)))
    assert history[0][2] == fingerprint(TEST_KEY)  # the earlier runs stay in the history
    con = duckdb.connect(os.path.realpath(warehouse), read_only=True)
    try:
        run_ids = con.execute("select distinct run_id from raw.load_log").fetchall()
    finally:
        con.close()
    assert run_ids == [(history[-1][0],)]  # nothing carried over from the old key's runs

    # from now on the old key is the changed one
    old = nightly(landing, warehouse)
    assert old.returncode == 2 and "key has changed" in old.stderr
    same = nightly(
        landing,
        warehouse,
        env=with_key(OTHER_KEY_HEX),
    )
    assert same.returncode == 3, same.stderr


def test_the_published_warehouse_remembers_the_key_when_the_json_history_is_lost(first_run):
    landing, warehouse = first_run
    history = warehouse.with_name(warehouse.name + ".work") / "history"
    aside = history.with_name("history.aside")
    history.rename(aside)
    try:
        done = nightly(landing, warehouse)
    finally:
        shutil.rmtree(history, ignore_errors=True)
        aside.rename(history)
    assert done.returncode == 2 and "key has changed" in done.stderr
    assert fingerprint(bytes.fromhex(OTHER_KEY_HEX)) in done.stderr  # from ops.runs
