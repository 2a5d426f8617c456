"""The Great Expectations gates (smhp/pipeline/quality/, expectations/*), run for real.

One small but real candidate is built once: extracts written as CSV, the real ingest
(contract checks, pseudonymisation, load log), the real ``dbt build``. Each test works on
a copy of it, breaks one thing with plain SQL, rebuilds the suites' data frames (the dbt
models of ``pipeline/models/quality``) where the break is upstream of them, as the
nightly run builds them after the data it checks, and runs GX on it: in this process (GX
is imported once), once through the pre-warmed worker subprocess and once through the
warm pool of workers.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from extracts import (
    TEST_KEY,
    case_discussion,
    liaison,
    nhs_number,
    profile,
    referral,
    ucope,
    write_extract,
)

from smhp.pipeline.dbt_build import build
from smhp.pipeline.ingest import ingest
from smhp.pipeline.quality import (
    EXPECTATIONS_DIR,
    CheckResult,
    GxWorker,
    GxWorkerError,
    QualityError,
    failed_errors,
    failed_warnings,
    load_suites,
    validate,
)

pytestmark = pytest.mark.slow

# Referrals on 10 weekday nights, 12 a night: enough history for the volume check
# (the latest night against the median of the 8 before; a median of at least 10 rows).
NIGHTS = [date(2024, 3, 4) + timedelta(days=d) for d in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)]
PER_NIGHT = 12


def _has_nhs_number(serial: int) -> bool:
    try:
        nhs_number(serial)
    except ValueError:  # the helper's serial has no valid check digit
        return False
    return True


STUDENTS = [n for n in range(1, 400) if _has_nhs_number(n)]
"""Serials that give a valid test NHS number: one student per referral."""


def _ingest(database: Path, landing: Path) -> None:
    con = duckdb.connect(str(database))
    try:
        report = ingest(con, landing, TEST_KEY, "test-run", datetime(2024, 4, 1, 3), date.today())
        assert report.rows_quarantined == 0
        con.execute("checkpoint")
    finally:
        con.close()


def _write_landing(landing: Path) -> None:
    serial = 0
    for night in NIGHTS:
        rows = []
        for i in range(PER_NIGHT):
            serial += 1
            seen = i % 3 == 0  # a third seen the same week, with a wait of 0 to 3 days
            rows.append(
                referral(
                    f"R{serial}",
                    STUDENTS[serial],
                    institution_code="UOL" if i % 2 else "LJMU",
                    referred_on=str(night - timedelta(days=3)),
                    first_appointment_on=str(night - timedelta(days=i % 4)) if seen else "",
                    outcome="seen" if seen else "waiting",
                    updated_at=f"{night} 08:00:00",
                )
            )
        write_extract(landing, "referrals", str(night), rows)
    last = str(NIGHTS[-1])
    write_extract(
        landing,
        "liaison_contacts",
        last,
        [
            liaison("C1", 1, presented_at="2024-03-05 22:00:00",
                    university_informed_at="2024-03-06 09:00:00", updated_at=f"{last} 08:00:00"),
            liaison("C2", 2, institution_code="LJMU", presented_at="2024-03-06 10:00:00",
                    university_informed_at="2024-03-06 12:00:00", updated_at=f"{last} 08:00:00"),
        ],
    )  # fmt: skip
    write_extract(
        landing, "case_discussions", last,
        [case_discussion("D1", 1, discussed_on="2024-03-07", pathway_started_on="2024-03-12",
                         updated_at=f"{last} 08:00:00")],
    )  # fmt: skip
    write_extract(
        landing, "ucope_episodes", last,
        [ucope("E1", 3, referred_on="2024-03-04", assessed_on="2024-03-11", core10_start="18",
               sessions_attended="1", updated_at=f"{last} 08:00:00")],
    )  # fmt: skip
    write_extract(
        landing, "student_profiles", last, [profile(1), profile(2, institution_code="LJMU")]
    )


@pytest.fixture(scope="module")
def candidate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real candidate: ingest + dbt build of the extracts above (read, never changed)."""
    base = tmp_path_factory.mktemp("quality")
    _write_landing(base / "landing")
    database = base / "candidate.duckdb"
    _ingest(database, base / "landing")
    result = build(database, target_path=base / "dbt" / "target", log_path=base / "dbt" / "logs")
    assert result.success, result.summary()
    return database


@pytest.fixture
def copy(candidate: Path, tmp_path: Path) -> Path:
    """A copy of the candidate that a test may break."""
    return Path(shutil.copy(candidate, tmp_path / "candidate.duckdb"))


def _sql(database: Path, *statements: str) -> None:
    con = duckdb.connect(str(database))
    try:
        for statement in statements:
            con.execute(statement)
        con.execute("checkpoint")
    finally:
        con.close()


def _rebuild_frames(database: Path, tmp_path: Path) -> None:
    """Rebuild the quality frames (dbt models/quality) from the database as it is now."""
    result = build(
        database,
        select=["path:models/quality"],
        target_path=tmp_path / "dbt" / "target",
        log_path=tmp_path / "dbt" / "logs",
    )
    assert result.success, result.summary()


def _by_suite_and_column(results: list[CheckResult], suite: str, text: str) -> CheckResult:
    [hit] = [r for r in results if r.suite == suite and text in r.name]
    return hit


def _names(results: list[CheckResult]) -> set[tuple[str, str]]:
    return {(r.suite, r.name) for r in results}


# --- the suites themselves -------------------------------------------------------------


def test_every_suite_has_its_sql_and_every_expectation_a_severity_and_a_why() -> None:
    suites = load_suites(EXPECTATIONS_DIR)
    names = {s.name for s in suites}
    for source in ("liaison_contacts", "case_discussions", "referrals", "ucope_episodes",
                   "student_profiles"):  # fmt: skip
        assert f"incoming_{source}" in names
    for mart in ("metrics_monthly", "fct_liaison_contacts", "fct_case_discussions",
                 "fct_referrals", "fct_ucope_episodes"):  # fmt: skip
        assert f"marts_{mart}" in names
    for suite in suites:
        for exp in suite.expectations:
            assert exp["meta"]["severity"] in ("error", "warning")
            assert len(exp["meta"]["why"]) > 40


def test_a_suite_without_severity_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.sql").write_text("select 1 as x")
    (tmp_path / "s.json").write_text(
        json.dumps({"name": "s", "expectations": [{"type": "expect_column_to_exist",
                                                    "kwargs": {"column": "x"}, "meta": {}}]})
    )  # fmt: skip
    with pytest.raises(QualityError, match="meta.severity"):
        load_suites(tmp_path)


# --- validation, in process ------------------------------------------------------------


def test_the_clean_candidate_passes_every_expectation(candidate: Path) -> None:
    results = validate(candidate)
    assert len(results) == sum(len(s.expectations) for s in load_suites())
    assert failed_errors(results) == []
    assert failed_warnings(results) == []
    volume = _by_suite_and_column(results, "incoming_referrals", "(volume_ratio")
    assert volume.observed_value == f"referrals {NIGHTS[-1]}: 1"  # 12 rows / median 12
    assert all(r.kind == "expectation" and r.why for r in results)


def test_a_broken_metrics_table_fails_the_right_error_expectations(
    copy: Path, tmp_path: Path
) -> None:
    _sql(
        copy,
        # a percentage of 120
        "update marts.metrics_monthly set value = 120 where month = date '2024-03-01'"
        " and institution_code = 'ALL' and metric = 'referral_seen_6wk_pct'",
        # ALL referrals received smaller than UOL's
        "update marts.metrics_monthly set value = 1 where month = date '2024-03-01'"
        " and institution_code = 'ALL' and metric = 'referrals_received'",
    )
    _rebuild_frames(copy, tmp_path)
    results = validate(copy)
    failed = failed_errors(results)
    pct = _by_suite_and_column(results, "marts_metrics_monthly", "(pct_value")
    pair = _by_suite_and_column(
        results, "marts_metrics_monthly_all_vs_institutions", "(all_value, max_institution"
    )
    total = _by_suite_and_column(
        results, "marts_metrics_monthly_all_vs_institutions", "(all_minus_sum"
    )
    assert _names(failed) == _names([pct, pair, total])
    assert pct.severity == "error" and not pct.success
    assert re.fullmatch(
        r"1 of \d+ rows unexpected: 2024-03 ALL referral_seen_6wk_pct = 120", pct.observed_value
    )
    # 120 referrals in March: 60 at UOL, 60 at LJMU, ALL now says 1
    assert re.fullmatch(
        r"1 of \d+ rows unexpected: 2024-03 referrals_received = \(1, 60\)", pair.observed_value
    )
    assert re.fullmatch(
        r"1 of \d+ rows unexpected: 2024-03 referrals_received = -119", total.observed_value
    )


def test_a_volume_drop_warns_and_still_publishes(copy: Path, tmp_path: Path) -> None:
    night = NIGHTS[-1] + timedelta(days=3)  # the next Monday: 1 referral instead of 12
    write_extract(tmp_path / "landing", "referrals", str(night),
                  [referral("R999", STUDENTS[-1], referred_on=str(night), updated_at=f"{night} 08:00:00")])  # fmt: skip
    _ingest(copy, tmp_path / "landing")
    _rebuild_frames(copy, tmp_path)
    results = validate(copy)
    assert failed_errors(results) == []
    [warning] = failed_warnings(results)
    assert warning.suite == "incoming_referrals"
    assert (
        warning.name
        == "expect_column_values_to_be_between(volume_ratio, min_value=0.25, max_value=5)"
    )
    assert warning.observed_value == f"referrals {night}: 0.083"  # 1 / 12
    assert "fewer" in warning.why


def test_results_never_copy_an_identifier(copy: Path) -> None:
    _sql(
        copy,
        # a referral twice in the fact table, and one with a negative wait
        "insert into marts.fct_referrals select * from marts.fct_referrals where referral_id = 'R1'",
        "update marts.fct_referrals set wait_days = -5 where referral_id = 'R4'",
    )
    results = validate(copy)
    unique = _by_suite_and_column(results, "marts_fct_referrals", "unique(referral_id")
    negative = _by_suite_and_column(results, "marts_fct_referrals", "(wait_days, min_value=0)")
    assert {r.name for r in failed_errors(results)} == {unique.name, negative.name}
    assert unique.observed_value == "2 of 121 rows unexpected"
    assert negative.observed_value == "1 of 121 rows unexpected: -5"
    con = duckdb.connect(str(copy), read_only=True)
    secrets = {v for (v,) in con.execute("select referral_id from raw.referrals union"
                                         " select student_key from raw.referrals").fetchall()}  # fmt: skip
    con.close()
    text = json.dumps([r.observed_value for r in results])
    assert not [s for s in secrets if f'"{s}' in text or f" {s}" in text or f"{s};" in text]


def test_identifier_values_are_never_shown_even_where_a_suite_asks(tmp_path: Path) -> None:
    database = tmp_path / "ids.duckdb"
    _sql(
        database,
        "create table t as select * from (values ('R1', 'k1', 3), ('R2', 'k1', 5))"
        " v(referral_id, student_key, n)",
    )
    (tmp_path / "s.sql").write_text("select * from t")
    show = {"severity": "warning", "why": "a test of what results may copy", "show_values": True}
    (tmp_path / "s.json").write_text(
        json.dumps({"name": "s", "expectations": [
            {"type": "expect_column_most_common_value_to_be_in_set",
             "kwargs": {"column": "student_key", "value_set": ["x"]}, "meta": show},
            {"type": "expect_column_values_to_be_in_set",
             "kwargs": {"column": "referral_id", "value_set": ["R1"]}, "meta": show},
            {"type": "expect_column_values_to_be_between",
             "kwargs": {"column": "n", "max_value": 4}, "meta": show},
        ]})
    )  # fmt: skip
    observed = [r.observed_value for r in validate(database, tmp_path)]
    assert observed == [
        "not shown (an identifier column)",
        "1 of 2 rows unexpected",
        "1 of 2 rows unexpected: 5",  # a count column: its value is shown
    ]


def test_a_frame_that_cannot_be_built_fails_its_expectations(copy: Path) -> None:
    _sql(copy, "drop table marts.fct_ucope_episodes")
    results = [r for r in validate(copy) if r.suite == "marts_fct_ucope_episodes"]
    assert results and not any(r.success for r in results)
    assert all(r.observed_value.startswith("frame not built: Catalog Error") for r in results)
    assert {r.severity for r in results} == {"error", "warning"}  # each fails as declared


# --- the pre-warmed worker -------------------------------------------------------------


def test_the_worker_gives_the_same_results_as_in_process(candidate: Path) -> None:
    with GxWorker(EXPECTATIONS_DIR, timeout=120) as worker:
        from_worker = worker.validate(candidate)
    assert from_worker == validate(candidate)


def _fake_python(tmp_path: Path, body: str) -> str:
    """A stand-in for the worker's interpreter (no GX import: these tests stay fast)."""
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


def test_a_worker_that_dies_says_why_with_its_stderr(tmp_path: Path) -> None:
    python = _fake_python(
        tmp_path, "echo 'ImportError: no module named great_expectations' >&2; exit 1"
    )
    with (
        GxWorker(EXPECTATIONS_DIR, python=python) as worker,
        pytest.raises(GxWorkerError, match="(?s)exited with code 1.*no module named great_exp"),
    ):
        worker.validate(tmp_path / "candidate.duckdb")


def test_a_worker_that_hangs_is_killed_after_its_timeout(tmp_path: Path) -> None:
    python = _fake_python(tmp_path, "echo importing >&2; exec sleep 60")
    with GxWorker(EXPECTATIONS_DIR, python=python, timeout=1) as worker:
        with pytest.raises(GxWorkerError, match="(?s)no answer within 1 s.*importing"):
            worker.validate(tmp_path / "candidate.duckdb")
        assert worker._proc.returncode is not None


def test_an_unused_worker_is_killed_on_close() -> None:
    worker = GxWorker(EXPECTATIONS_DIR)
    worker.close()
    assert worker._proc.returncode is not None


# --- the warm pool of workers ----------------------------------------------------------


def test_the_pool_answers_as_a_worker_does_and_exits_with_its_starter(
    candidate: Path, tmp_path: Path
) -> None:
    socket_path = tmp_path / "gx.sock"
    pool = subprocess.Popen(
        [sys.executable, "-m", "smhp.pipeline.quality", "pool", "--socket", str(socket_path)],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not socket_path.exists():  # ready once GX is imported
            assert pool.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600  # this account only
        for _ in range(2):  # a fresh forked worker per request, the same answers
            with GxWorker(EXPECTATIONS_DIR, timeout=120, pool=socket_path) as worker:
                assert worker.pid is None  # no worker subprocess of its own
                assert worker.validate(candidate) == validate(candidate)
        with GxWorker(EXPECTATIONS_DIR, pool=socket_path) as worker:
            missing = tmp_path / "missing" / "suites"
            with pytest.raises(GxWorkerError, match="GX pool could not validate: "):
                worker.validate(candidate, missing)
    finally:
        pool.stdin.close()  # type: ignore[union-attr]
        assert pool.wait(timeout=10) == 0  # gone with whoever started it


def test_a_pool_that_is_gone_means_a_worker_of_the_runs_own(tmp_path: Path) -> None:
    dead = tmp_path / "gx.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(dead))  # the socket file stays; nobody listens on it
    python = _fake_python(tmp_path, "echo 'worker started' >&2; exit 1")
    with (
        GxWorker(EXPECTATIONS_DIR, python=python, pool=dead) as worker,
        pytest.raises(GxWorkerError, match="(?s)exited with code 1.*worker started"),
    ):
        worker.validate(tmp_path / "candidate.duckdb")
