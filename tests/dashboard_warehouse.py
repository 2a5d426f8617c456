"""Helpers of the dashboard tests: warehouses to serve, and reading what a page shows.

- ``tiny_warehouse``: a hand-made warehouse small enough to check the board's tiles and
  disclosure by hand (only the tables the board and the banner read).
- ``copy_warehouse`` / ``add_run_history`` / ``drop_run_history`` / ``empty_copy``: a
  private copy of the session's demo warehouse, changed for one test, so the shared demo
  file is never touched. The run history is written by ``smhp.pipeline.history`` itself, the
  producer of the ``ops`` schema.
- ``run_page``: a page run headless with Streamlit's AppTest, signed in through the
  sign-in form as a demo user, failing on any exception; ``sign_in`` drives the form;
  ``force_scope`` gives the viewer a scope no role has (to test a page's disclosure).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from smhp.access import Scope
from smhp.access.users import demo_password
from smhp.pipeline.history import RunRecord, write_ops_tables

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")

_TINY_SCHEMA = """
create schema marts;
create table marts.metrics_monthly (
    month date, institution_code varchar, metric varchar, value double);
create table marts.fct_liaison_contacts (presented_on date);
create table marts.fct_case_discussions (discussed_on date);
create table marts.fct_referrals (referred_on date, first_appointment_on date);
create table marts.fct_ucope_episodes (referred_on date, assessed_on date, discharged_on date);
create table marts.dim_institutions (
    institution_code varchar, institution_name varchar, joined_on date);
create table marts.dim_institution_populations (
    institution_code varchar, academic_year varchar, academic_year_starts_on date,
    academic_year_ends_on date, students integer);
create table marts.dim_spc_change_points (
    changed_on date, institution_code varchar, metric varchar, reason varchar);
insert into marts.dim_spc_change_points values  -- before the chart: no new limits drawn
    ('2022-08-01', 'ALL', '*', 'The partnership extended to four more institutions');
insert into marts.dim_institutions values
    ('UOL',  'University of Liverpool',          '2019-06-01'),
    ('LJMU', 'Liverpool John Moores University', '2019-06-01'),
    ('HOPE', 'Liverpool Hope University',        '2024-02-01');  -- joins inside the chart
insert into marts.dim_institution_populations values
    ('UOL',  '2023/24', '2023-08-01', '2024-07-31', 30000),
    ('LJMU', '2023/24', '2023-08-01', '2024-07-31', 25000),
    ('HOPE', '2023/24', '2023-08-01', '2024-07-31', 5000);
-- The latest event is on 5 March 2024: March is incomplete, February is the headline month.
insert into marts.fct_liaison_contacts values ('2024-03-05');
insert into marts.fct_referrals values ('2024-02-28', '2024-03-01');
"""

# (month, metric, value) of ALL. ALL is its own computation, not a sum; it is kept
# consistent with the institution rows here so the scoped test can be checked by hand.
_ALL = [
    ("2024-01-01", "liaison_contacts", 40),
    ("2024-01-01", "liaison_informed_72h_pct", 87.5),  # 35 of 40
    ("2024-01-01", "referrals_received", 120),
    ("2024-01-01", "referral_completed_waits", 100),
    ("2024-01-01", "referral_seen_6wk_pct", 80.0),
    ("2024-01-01", "ucope_assessed", 10),
    ("2024-01-01", "ucope_assessed_14d_pct", 70.0),
    ("2024-02-01", "liaison_contacts", 46),
    ("2024-02-01", "liaison_informed_72h_pct", 100 * 40 / 46),  # 86.96
    ("2024-02-01", "referrals_received", 110),
    ("2024-02-01", "referral_completed_waits", 96),
    ("2024-02-01", "referral_seen_6wk_pct", 75.0),
    ("2024-02-01", "ucope_assessed", 5),  # base under 8
    ("2024-02-01", "ucope_assessed_14d_pct", 60.0),  # 3 of 5
    ("2024-03-01", "liaison_contacts", 3),  # the incomplete month
    ("2024-03-01", "liaison_informed_72h_pct", 100.0),
]
_INSTITUTIONS = [
    ("2024-01-01", "UOL", "liaison_contacts", 25),
    ("2024-01-01", "UOL", "liaison_informed_72h_pct", 80.0),  # 20 of 25
    ("2024-01-01", "LJMU", "liaison_contacts", 15),
    ("2024-01-01", "LJMU", "liaison_informed_72h_pct", 100.0),  # 15 of 15
    ("2024-02-01", "UOL", "liaison_contacts", 30),
    ("2024-02-01", "UOL", "liaison_informed_72h_pct", 80.0),  # 24 of 30
    ("2024-02-01", "LJMU", "liaison_contacts", 16),
    ("2024-02-01", "LJMU", "liaison_informed_72h_pct", 100.0),  # 16 of 16
]


def tiny_warehouse(path: Path, referrals_feb: float = 110) -> Path:
    """The hand-made warehouse at ``path``; ``referrals_feb`` tells two builds apart."""
    con = duckdb.connect(str(path))
    con.execute(_TINY_SCHEMA)
    rows = [
        (m, "ALL", k, referrals_feb if (m, k) == ("2024-02-01", "referrals_received") else v)
        for m, k, v in _ALL
    ]
    con.executemany(
        "insert into marts.metrics_monthly values (?::date, ?, ?, ?)", rows + _INSTITUTIONS
    )
    con.close()
    return path


def copy_warehouse(published: Path, folder: Path) -> Path:
    """A private copy of a published warehouse's snapshot, as a plain file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "warehouse.duckdb"
    shutil.copyfile(os.path.realpath(published), target)
    return target


def add_run_history(path: Path, records: list[RunRecord]) -> Path:
    """(Re)write the ``ops`` schema of ``path`` from ``records``, as publishing does."""
    con = duckdb.connect(str(path))
    try:
        write_ops_tables(con, records)
    finally:
        con.close()
    return path


def drop_run_history(path: Path) -> Path:
    """Remove the ``ops`` schema: a warehouse from before the run history existed."""
    con = duckdb.connect(str(path))
    try:
        con.execute("drop schema if exists ops cascade")
    finally:
        con.close()
    return path


REFERENCE_TABLES = frozenset(
    {
        "dim_institutions",
        "dim_services",
        "dim_referral_sources",
        "dim_institution_populations",
        "dim_academic_years",
        "dim_spc_change_points",
    }
)


def empty_copy(published: Path, folder: Path) -> Path:
    """A copy with every table of the marts and the raw layer emptied (same shape)."""
    path = copy_warehouse(published, folder)
    con = duckdb.connect(str(path))
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'raw') and table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            if table not in REFERENCE_TABLES:  # reference data stays, activity goes
                con.execute(f'delete from "{schema}"."{table}"')
    finally:
        con.close()
    return path


def run_record(
    run_id: str,
    outcome: str,
    reason: str | None = None,
    started: str = "2026-11-24 01:00:00",
    ended: str = "2026-11-24 01:00:12",
    **tables: list[dict],
) -> RunRecord:
    """A run record with the given outcome and rows (keyword: stages, files, checks...)."""
    stages = tables.pop("stages", [{"ingest": 2.0, "dbt build": 6.0, "publish": 0.1}])[0]
    return RunRecord(
        run_id=run_id,
        started_at=datetime.fromisoformat(started),
        ended_at=datetime.fromisoformat(ended),
        outcome=outcome,
        reason=reason,
        stages=stages,
        **tables,
    )


def query(path: Path, sql: str, params: dict | None = None) -> pd.DataFrame:
    """The expected values, straight from the warehouse."""
    con = duckdb.connect(os.path.realpath(path), read_only=True)
    try:
        return con.execute(sql, params or {}).df()
    finally:
        con.close()


def sign_in(at: AppTest, username: str, password: str | None = None) -> AppTest:
    """Sign in through the dashboard's own form, as a viewer does (the demo password of
    ``username`` unless ``password`` is given)."""
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(
        demo_password(username) if password is None else password
    )
    next(b for b in at.button if b.label == "Sign in").click().run()
    return at


def run_page(page: str | None = None, state: dict | None = None, user: str = "board") -> AppTest:
    """The app run headless, signed in as the demo user ``user`` through the sign-in
    form, on ``page`` (``views/<page>.py``; the user's landing page if None), with
    widget values preset in ``state`` (by key).

    Needs the ``dashboard_access`` fixture (the demo users and an audit log); to test a
    page under a scope no role has, see ``force_scope``."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    if any(t.key == "signin_username" for t in at.text_input):
        sign_in(at, user)
    assert not at.exception, at.exception
    if page is not None:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception
    return at


def force_scope(monkeypatch: pytest.MonkeyPatch, scope: Scope) -> None:
    """Give every signed-in viewer ``scope`` (for tests of a page under a scope no role
    has, e.g. the board's page through disclosure control): replaces ``scope_for`` as the
    dashboard sees it, in this test process only."""
    monkeypatch.setattr("dashboard.auth.session.scope_for", lambda access: scope)


def figures(at: AppTest) -> dict[str, dict]:
    """Every plotly chart on the page as its figure JSON, by title."""
    out = {}
    for chart in at.get("plotly_chart"):
        fig = json.loads(chart.proto.spec)
        out[fig["layout"]["title"]["text"]] = fig
    return out


def open_details(at: AppTest) -> AppTest:
    """Open every closed section under the page's charts and tables, as a click on each
    would, and rerun: their numbers and downloads are drawn only while open
    (``dashboard.ui._details``)."""
    closed = [
        e.key
        for e in at.expander
        if e.key and e.key.endswith("_details") and not at.session_state[e.key]
    ]
    for key in closed:
        at.session_state[key] = True
    return at.run() if closed else at


def tables(at: AppTest) -> dict[str, pd.DataFrame]:
    """Every table on the page (the table of a chart's numbers too), by the key the page
    gave it, with every section under them open (``open_details``; ``dashboard.ui``: each
    chart or table has exactly one table and one CSV download, in that order, so the
    download's key names the table)."""
    open_details(at)
    frames = list(at.dataframe)
    buttons = [b for b in at.get("download_button") if b.key.endswith("_csv")]  # not PDFs
    assert len(frames) == len(buttons), "every table comes with its CSV download"
    return {b.key.removesuffix("_csv"): f.value for f, b in zip(frames, buttons, strict=True)}


def tiles(at: AppTest) -> dict[str, tuple[str, str | None]]:
    """Every headline figure: label to (value, delta); AppTest reports no delta as ''."""
    return {m.label: (m.value, m.delta or None) for m in at.metric}
