"""Sign-in, roles and the audit log of the dashboard (Streamlit AppTest, demo warehouse).

Every viewer signs in through the app's own form as one of the demo users
(``smhp.access.users.create_demo_users``), each test with its own users file and audit log, and
what each role may and may not see is checked page by page: the menu, a page typed by
hand, the rows of tables, charts and CSV downloads, tampering with the session state or
the query string, lock-out, expiry, sign-out, single sign-on and the audit trail.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from dashboard_warehouse import APP, figures, query, sign_in, tables
from streamlit.testing.v1 import AppTest

from dashboard import downloads, navigation
from dashboard.auth import request, seal
from dashboard.auth.sign_in import NO_ACCESS_TEXT
from dashboard.auth.trail import AUDIT_DOWN_TEXT
from dashboard.context import NOT_FOR_ROLE_TEXT
from smhp.access import Access, pages_for
from smhp.access.audit import AuditLog
from smhp.access.users import DEMO_USERS, remove_user

ROLES = {username: role for username, role, _, _ in DEMO_USERS}
INSTITUTIONS = {"manager_uol": {"UOL"}, "manager_hope_lipa": {"HOPE", "LIPA"}}
START, END = date(2025, 10, 1), date(2026, 9, 30)  # the service page's default period
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def access(private_access: Path) -> Path:
    """The demo warehouse, a private copy of the demo users and a fresh audit log."""
    return private_access


@pytest.fixture
def menus(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The titles the menu shows, per run: the visible pages given to ``st.navigation``."""
    seen: list[list[str]] = []
    real = st.navigation

    def spy(pages, **kwargs):
        seen.append([p.title for p in pages if p.visibility == "visible"])
        return real(pages, **kwargs)

    monkeypatch.setattr(st, "navigation", spy)
    return seen


@pytest.fixture
def csvs(monkeypatch: pytest.MonkeyPatch) -> list[list[dict[str, str]]]:
    """What every CSV download button the pages draw would hand out if clicked (cleared by
    the test between pages); the bytes are ``downloads.csv_bytes`` of the shown table."""
    built: list[list[dict[str, str]]] = []
    real = downloads.prepare

    def spy(shown, table, not_in_csv=()):
        data = downloads.csv_bytes(shown, not_in_csv)
        built.append(list(csv.DictReader(io.StringIO(data.decode("utf-8")))))
        return real(shown, table, not_in_csv)

    monkeypatch.setattr(downloads, "prepare", spy)
    return built


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Set the dashboard's clock (``dashboard.auth.request.now``)."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(request, "now", lambda: moment)

    set_to(T0)
    return set_to


def events(audit_db: Path, event: str | None = None) -> list[dict]:
    return list(reversed(AuditLog(audit_db).recent(10_000, event=event)))


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def signed_in(username: str, password: str | None = None) -> AppTest:
    at = sign_in(app(), username, password)
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def on_sign_in_page(at: AppTest) -> bool:
    return any(t.key == "signin_username" for t in at.text_input)


def shows_nothing_but_the_refusal(at: AppTest) -> bool:
    return (
        errors(at) == [NOT_FOR_ROLE_TEXT]
        and not at.title
        and not at.metric
        and not at.dataframe
        and not at.get("plotly_chart")
        and not at.download_button
        and not any("Data as of" in i.value for i in [*at.info, *at.warning])
    )


def visit(at: AppTest, page_id: str) -> AppTest:
    return at.switch_page(f"views/{navigation.BY_ID[page_id].script}").run()


# --- before sign-in --------------------------------------------------------------------


def test_nothing_but_the_sign_in_form_before_sign_in(menus: list) -> None:
    at = app()
    assert [t.value for t in at.title] == ["SMHP dashboard"]
    assert on_sign_in_page(at)
    assert at.text_input(key="signin_password").proto.type == 1  # a password field
    assert menus == []  # no navigation at all
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
    assert not any("Data as of" in i.value for i in at.info)
    assert not any(b.label == "Sign in with Microsoft" for b in at.button)  # no [auth]


# --- the matrix: roles x pages x downloads ---------------------------------------------


@pytest.mark.parametrize("username", list(ROLES))
def test_each_role_sees_its_pages_and_nothing_else(
    username: str, menus: list, access: Path, clicks: dict
) -> None:
    role = ROLES[username]
    allowed = pages_for(role)
    at = signed_in(username)
    assert menus[-1] == [navigation.BY_ID[p].title for p in allowed]  # exactly its pages
    landing = navigation.BY_ID[allowed[0]]
    assert errors(at) == []
    assert at.title[0].value.startswith(landing.title.split()[0])
    for spec in navigation.PAGES:
        at = visit(at, spec.page_id)
        assert not at.exception, at.exception
        assert menus[-1] == [navigation.BY_ID[p].title for p in allowed]
        if spec.page_id not in allowed:
            assert shows_nothing_but_the_refusal(at), (username, spec.page_id)
            denied = events(access, "access_denied")[-1]
            assert (denied["username"], denied["details"]["page"]) == (username, spec.page_id)
            continue
        assert errors(at) == [], (username, spec.page_id, errors(at))
        assert at.title, (username, spec.page_id)
        viewed = events(access, "page_view")[-1]
        assert (viewed["username"], viewed["details"]["page"]) == (username, spec.page_id)
        shown = tables(at)
        if not shown:
            continue
        key, frame = next(iter(shown.items()))
        clicks[key]()  # the button's click: audited, then built
        download = events(access, "download")[-1]
        assert download["username"] == username
        assert download["details"]["page"] == spec.page_id
        assert download["details"]["file"] == f"{key}.csv"
        assert download["details"]["rows"] == len(frame)
    assert AuditLog(access).verify_chain()


def test_the_admin_page_lists_users_lock_state_and_the_audit_log(access: Path) -> None:
    board = signed_in("board", "wrong password, once")  # a failure to show
    assert errors(board)
    at = signed_in("admin")
    assert at.title[0].value == "Administration"
    users = tables(at)["admin_users"].set_index("Username")
    assert set(users.index) == set(ROLES)
    assert users.loc["manager_hope_lipa", "Institutions"] == "HOPE, LIPA"
    assert users.loc["board", "Failed sign-ins since the last success"] == 1
    assert set(users["Locked until (UTC)"]) == {"not locked"}
    assert "password_hash" not in " ".join(users.columns) and not any(
        "$argon2" in str(v) for v in users.to_numpy().ravel()
    )
    audit = tables(at)["admin_audit"]
    assert {"sign_in", "sign_in_failed"} <= set(audit["Event"])
    assert any("hash chain is intact" in s.value for s in at.success)
    at.selectbox(key="admin_event").select("sign_in_failed").run()
    assert set(tables(at)["admin_audit"]["Event"]) == {"sign_in_failed"}


def test_the_admin_page_needs_no_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMHP_WAREHOUSE", str(tmp_path / "nowhere.duckdb"))
    at = signed_in("admin")
    assert at.title[0].value == "Administration" and errors(at) == []
    at = visit(at, "quality")
    assert any("No published warehouse" in e for e in errors(at))


def test_an_account_with_a_role_the_dashboard_does_not_know_sees_nothing(
    tmp_path: Path, access: Path, menus: list
) -> None:
    users = tmp_path / "users.json"
    data = json.loads(users.read_text(encoding="utf-8"))
    for entry in data["users"]:
        if entry["username"] == "funder":
            entry["role"] = "auditor"  # edited by hand: not a role of smhp.access
    users.write_text(json.dumps(data), encoding="utf-8")
    at = signed_in("funder")
    assert errors(at) == [
        "Your account has no access to any page of the dashboard. "
        "Ask the partnership's administrator."
    ]
    assert menus[-1] == [] and not at.title and not at.metric and not at.dataframe
    assert events(access, "access_denied")[-1]["details"]["reason"] == "no pages for this role"


# --- a service manager's institutions only ---------------------------------------------


def _institution_values(rows: list[dict[str, str]]) -> set[str]:
    return {r["Institution"] for r in rows if "Institution" in r}


@pytest.mark.parametrize("username", list(INSTITUTIONS))
def test_a_service_manager_sees_only_their_institutions(
    username: str, demo_warehouse: Path, csvs: list
) -> None:
    theirs = INSTITUTIONS[username]
    at = signed_in(username)
    assert at.title[0].value == "Service manager"
    options = set(at.selectbox(key="service_institution").options)
    names = query(
        demo_warehouse,
        "select institution_code, institution_name from marts.dim_institutions",
    ).set_index("institution_code")["institution_name"]
    assert options <= {"All my institutions", *(names[c] for c in theirs)}
    exact = query(
        demo_warehouse,
        """select count(*) as n from marts.fct_referrals
           where referred_on between $s and $e and list_contains($i, institution_code)""",
        {"s": START, "e": END, "i": sorted(theirs)},
    ).iloc[0]["n"]
    funnel = tables(at)["service_funnel"].set_index("Category")["Referrals"]
    assert funnel["Received"] == exact
    if len(theirs) > 1:  # the partnership view, by institution: theirs only
        waiting = tables(at)["service_waiting_institutions"]
        assert set(waiting["Institution"]) == theirs
        fig = figures(at)["Still waiting past 6 weeks, by institution"]
        assert set(fig["data"][0]["x"]) == theirs
        code = sorted(theirs)[0]
        at.selectbox(key="service_institution").select(code).run()
    worklist = tables(at)["service_worklist"]
    assert len(worklist) > 0 and set(worklist["Institution"]) <= theirs
    owners = query(
        demo_warehouse,
        "select distinct institution_code from marts.fct_referrals where list_contains($r, referral_id)",
        {"r": [str(r) for r in worklist["Referral"]]},
    )
    assert set(owners["institution_code"]) <= theirs
    assert csvs and all(_institution_values(rows) <= theirs for rows in csvs)
    for fig in figures(at).values():
        assert not any(code in fig["layout"]["title"]["text"] for code in {"LJMU", "LSTM"})


# --- tampering: nothing extra ----------------------------------------------------------


def test_tampered_filters_and_query_parameters_return_nothing_extra(
    demo_warehouse: Path, csvs: list, access: Path
) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["service_institution"] = "UOL"  # not one of HOPE and LIPA
    at.session_state["viewer_scope"] = "everything"  # the old scope key: ignored
    at.query_params["institution"] = "UOL"
    at.query_params["role"] = "board"
    at.run()
    at = sign_in(at, "manager_hope_lipa")
    assert not at.exception, at.exception
    assert at.selectbox(key="service_institution").value == "__all__"
    assert set(tables(at)["service_waiting_institutions"]["Institution"]) == {"HOPE", "LIPA"}
    assert all(_institution_values(rows) <= {"HOPE", "LIPA"} for rows in csvs)

    at.query_params["page"] = "funder"
    at = visit(at, "funder")  # and as a page: refused
    assert shows_nothing_but_the_refusal(at)


def test_editing_the_session_state_to_change_role_signs_out(access: Path) -> None:
    at = signed_in("manager_uol")
    session = at.session_state[seal.SESSION_KEY]
    session.access = Access("board", None, "manager_uol")  # widen the role in place
    at.run()
    assert on_sign_in_page(at) and not at.dataframe
    assert any("Your session was changed" in i.value for i in at.info)
    denied = events(access, "access_denied")[-1]
    assert denied["details"]["reason"] == "session state altered"

    at = signed_in("manager_uol")
    at.session_state["_page_context"] = None  # the page context is rebuilt every rerun
    at.run()
    assert at.title[0].value == "Service manager" and errors(at) == []


def test_a_removed_user_is_signed_out_at_once(tmp_path: Path, access: Path) -> None:
    at = signed_in("manager_uol")
    remove_user(tmp_path / "users.json", "manager_uol")
    at.run()
    assert on_sign_in_page(at) and not at.dataframe
    expired = events(access, "session_expired")[-1]
    assert expired["details"]["reason"] == "account removed or its access changed"


# --- the funder's export: disclosure control everywhere --------------------------------

COUNTS = {
    "Students supported by the liaison service",
    "Students supported by U-COPE",
    "Referrals received",
    "Measured",
    "Met the standard",
    "Of",  # the U-COPE outcomes: the count a percentage is over, and those meeting it
    "Met",
    "Students reached",  # the equity page
    "Students enrolled",
    "Students",  # the trend chart's axis
    "Institutions reached",
    "Students enrolled at those institutions",
}
NOT_COUNTS = {  # statistics, targets and rates
    "Median wait for a first appointment",
    "Seen within 6 weeks",
    "Percent",
    "%",
    "Target (%)",
    "Reached per 1,000 enrolled",  # the equity page: rates and ratios with their limits
    "Rate, lower 95% limit",
    "Rate, upper 95% limit",
    "Representation ratio",
    "Ratio, lower 95% limit",
    "Ratio, upper 95% limit",
}


def _number(text: str) -> float | None:
    text = str(text).replace(",", "").strip()
    try:
        return float(text)
    except ValueError:
        return None


def _disclosed_count(value: object) -> bool:
    """0, ``*`` or a multiple of 5 over 7: what the NHS rule lets out."""
    if value in ("*", None, "", "—"):
        return True
    number = _number(str(value))
    return number is not None and number == int(number) and int(number) % 5 == 0


def _check_table(rows: list[dict[str, str]], exact_allowed: bool, where: str) -> None:
    for row in rows:
        if "Measure" in row:  # the totals table: one measure per row
            name, value = row["Measure"], row["Value"]
            assert name in COUNTS | NOT_COUNTS, (where, name)
            if name in COUNTS and not exact_allowed:
                assert _disclosed_count(value), (where, name, value)
            continue
        # the standards of the one exact cell are exact too (the same cell's figures)
        exact_row = exact_allowed and "Standard" in row
        for column, value in row.items():
            if _number(value) is None or column in NOT_COUNTS:
                continue
            assert column in COUNTS, (where, column)  # every number is classified
            assert exact_row or _disclosed_count(value), (where, column, value)


def _check_page(at: AppTest, csvs: list, exact_allowed: bool, where: str) -> None:
    assert not at.exception and errors(at) == [], (where, errors(at))
    for rows in csvs:
        _check_table(rows, exact_allowed, where)
    for key, frame in tables(at).items():
        rows = [{c: str(v) for c, v in r.items()} for r in frame.to_dict("records")]
        exact_here = exact_allowed and key in ("funder_totals", "funder_standards")
        _check_table(rows, exact_here, f"{where}: {key}")
    for tile in at.metric:
        if tile.label in COUNTS and not exact_allowed:
            assert _disclosed_count(tile.value), (where, tile.label, tile.value)
        for base in re.findall(r"Over ([\d,]+) first appointments", tile.help or ""):
            assert exact_allowed or _disclosed_count(base), (where, tile.label, base)
    for title, fig in figures(at).items():
        for trace in fig["data"]:
            if fig["layout"].get("yaxis", {}).get("title", {}).get("text") == "Students":
                assert all(_disclosed_count(v) for v in trace.get("y", [])), (where, title)
    assert any("nearest 5" in c.value for c in at.caption), where
    csvs.clear()


def _period(at: AppTest, page: str, kind: str, code: str) -> AppTest:
    at.selectbox(key=f"{page}_period_kind").select(kind).run()
    return at.selectbox(key=f"{page}_period").select(code).run()


def test_a_funder_export_never_holds_a_small_or_unrounded_count(csvs: list) -> None:
    at = signed_in("funder")
    _check_page(at, csvs, exact_allowed=True, where="funder, the funded period")
    totals = tables(at)["funder_totals"].set_index("Measure")["Value"]
    assert totals["Students supported by the liaison service"] == 429  # exact, as allowed
    at = _period(at, "funder", "academic_year", "2020/21")
    _check_page(at, csvs, exact_allowed=False, where="funder, one year")
    for code in ("UOL", "LSTM"):
        at.selectbox(key="funder_institution").select(code).run()
        _check_page(at, csvs, exact_allowed=False, where=f"funder, {code}")
    at.selectbox(key="funder_institution").select("__all__").run()
    for kind, code in (("month", "2026-09"), ("quarter", "2021-Q1")):
        at = _period(at, "funder", kind, code)
        _check_page(at, csvs, exact_allowed=False, where=f"funder, {code}")

    at = visit(at, "equity")
    for dimension in (
        "study_level",
        "sex",
        "age_band",
        "ethnic_group",
        "domicile",
        "year_of_study",
    ):
        at.radio(key="equity_dimension").set_value(dimension).run()
        _check_page(at, csvs, exact_allowed=False, where=f"equity, {dimension}")
    at = _period(at, "equity", "month", "2026-09")
    _check_page(at, csvs, exact_allowed=False, where="equity, the partnership in a month")
    at.selectbox(key="equity_institution").select("LSTM").run()
    assert at.selectbox(key="equity_period_kind").options == ["Academic year", "Funded period"]
    _check_page(at, csvs, exact_allowed=False, where="equity, LSTM in a year")
    assert "*" in {
        v
        for rows in [tables(at)["equity_year_of_study"].astype(str)]
        for v in rows.to_numpy().ravel()
    }


# --- sign-in failures, lock-out, expiry, sign-out --------------------------------------

TEN_DIGITS = re.compile(r"(?<!\d)(?:\d *){9}\d(?!\d)")  # an NHS number, spaced or not


def _text_columns(audit_db: Path) -> str:
    """Who and what of every event (not the hashes: hex may hold digit runs)."""
    return json.dumps([[e["event"], e["username"], e["details"]] for e in events(audit_db)])


def test_failed_sign_ins_look_alike_and_leak_nothing(access: Path) -> None:
    secret = "Correct-Horse-9434765919"  # a password with an NHS-number-like run in it
    unknown = signed_in("9434765919", secret)  # an NHS number typed as the username
    wrong = signed_in("board", secret)
    empty_shown = [e for at in (unknown, wrong) for e in errors(at)]
    assert len(set(empty_shown)) == 1  # one message, whatever went wrong
    message = empty_shown[0]
    assert "try again later" in message and "board" not in message
    for at in (unknown, wrong):
        shown = " ".join(str(e.value) for e in [*at.error, *at.info, *at.warning, *at.markdown])
        assert secret not in shown and "9434765919" not in shown
        assert at.text_input(key="signin_password").value == ""  # the form was cleared
    stored = access.read_bytes() + b"".join(
        p.read_bytes() for p in access.parent.glob("audit.sqlite3-*")
    )
    assert secret.encode() not in stored and b"9434765919" not in stored
    assert TEN_DIGITS.search(_text_columns(access)) is None
    failed = events(access, "sign_in_failed")
    assert [(e["username"], e["details"]["reason"]) for e in failed] == [
        (None, "unknown user"),
        ("board", "wrong password"),
    ]


def test_five_failures_lock_the_account_and_the_right_password_is_refused(
    access: Path, clock: Callable[[datetime], None]
) -> None:
    at = app()
    for _ in range(5):
        sign_in(at, "funder", "not the password")
    message = errors(at)
    sign_in(at, "funder")  # the right password, while locked
    assert errors(at) == message and on_sign_in_page(at)  # the same message, no entry
    # Each attempt is recorded before its password check, then its outcome, naming it.
    recorded = [e["event"] for e in events(access)]
    assert recorded == ["sign_in_attempt", "sign_in_failed"] * 5 + ["sign_in_locked"]
    clock(T0 + timedelta(minutes=16))  # the lock has passed
    sign_in(at, "funder")
    assert errors(at) == [] and at.title[0].value == "Funder impact summary"


def test_an_idle_session_expires_and_is_recorded(
    access: Path, clock: Callable[[datetime], None]
) -> None:
    at = signed_in("funder")
    clock(T0 + timedelta(minutes=29))
    at.run()
    assert at.title[0].value == "Funder impact summary"  # active: still signed in
    clock(T0 + timedelta(minutes=29 + 31))
    at.run()
    assert on_sign_in_page(at) and not at.metric
    assert any("Your session has ended" in i.value for i in at.info)
    expired = events(access, "session_expired")
    assert [e["username"] for e in expired] == ["funder"]


def test_an_active_session_ends_at_its_maximum_length(
    access: Path, clock: Callable[[datetime], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMHP_SESSION_MAX_HOURS", "1")
    at = signed_in("funder")
    for minutes in (25, 50):
        clock(T0 + timedelta(minutes=minutes))
        at.run()
        assert at.title[0].value == "Funder impact summary"
    clock(T0 + timedelta(minutes=61))
    at.run()
    assert on_sign_in_page(at)
    assert events(access, "session_expired")[-1]["username"] == "funder"


def test_sign_out_is_recorded_and_leaves_the_sign_in_form(access: Path) -> None:
    at = signed_in("board")
    at.button(key="sign_out").click().run()
    assert on_sign_in_page(at) and not at.metric
    assert any("You have signed out" in i.value for i in at.info)
    assert [e["event"] for e in events(access)][-1] == "sign_out"
    assert seal.SESSION_KEY not in at.session_state


def test_page_views_are_recorded_when_the_page_or_its_filters_change(access: Path) -> None:
    at = signed_in("board")
    views = len(events(access, "page_view"))
    at.run()
    at.run()
    assert len(events(access, "page_view")) == views  # a rerun is not a new view
    at.selectbox(key="board_spc_metric").select("referrals_received").run()
    latest = events(access, "page_view")[-1]
    assert latest["details"]["filters"]["board_spc_metric"] == "referrals_received"
    assert len(events(access, "page_view")) == views + 1


def test_no_sign_in_without_an_audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the audit log's folder should be")
    monkeypatch.setenv("SMHP_AUDIT_DB", str(blocker / "audit.sqlite3"))
    at = signed_in("board")
    assert errors(at) == [AUDIT_DOWN_TEXT]
    assert on_sign_in_page(at) and not at.metric


# --- single sign-on (st.login) ----------------------------------------------------------

TENANT = "11111111-2222-3333-4444-555555555555"
UOL_GROUP = "aaaaaaaa-0000-0000-0000-000000000001"
CHAIR = "cccccccc-0000-4000-8000-000000000001"  # the board chair's Entra object id
JO = "cccccccc-0000-4000-8000-000000000002"
SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "not-a-real-secret-only-for-a-test",
        "client_id": "test",
        "client_secret": "test",
        "server_metadata_url": "https://login.example.org/.well-known/openid-configuration",
    }
}


@pytest.fixture
def sso(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "access.toml"
    config.write_text(
        f"""
[sso]
allowed_tenant_ids = ["{TENANT}"]

[[users]]
tid = "{TENANT}"
oid = "{CHAIR}"
email = "chair@example.org"
role = "board"

[[groups]]
id = "{UOL_GROUP}"
role = "service_manager"
institutions = ["UOL"]
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("SMHP_ACCESS_CONFIG", str(config))
    return config


def sso_app(claims: dict | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = SECRETS
    at.user = {"is_logged_in": False} if claims is None else {"is_logged_in": True, **claims}
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.usefixtures("sso")
def test_single_sign_on_offers_microsoft_and_maps_groups_to_a_role(
    access: Path, menus: list
) -> None:
    at = sso_app(None)
    assert any(b.label == "Sign in with Microsoft" for b in at.button)
    assert on_sign_in_page(at)  # the local form too, while a users file exists
    claims = {
        "email": "jo@uni.example.org",
        "name": "Jo",
        "tid": TENANT,
        "oid": JO,
        "groups": [UOL_GROUP],
    }
    at = sso_app(claims)
    assert at.title[0].value == "Service manager"
    assert menus[-1] == ["Service manager", "PDF packs", "Accessibility"]
    assert set(tables(at)["service_worklist"]["Institution"]) == {"UOL"}
    signed = events(access, "sign_in")[-1]
    # Named by the immutable object id; the email and name are there to be read.
    assert (signed["username"], signed["details"]) == (
        f"sso:{JO}",
        {
            "method": "sso",
            "role": "service_manager",
            "name": "Jo",
            "email": "jo@uni.example.org",
            "tenant": TENANT,
            "client": None,  # AppTest has no network connection
        },
    )
    at.button(key="sign_out").click().run()  # records, then st.logout()
    assert at.user == {"is_logged_in": False}
    assert events(access)[-1]["event"] == "sign_out"


@pytest.mark.usefixtures("sso")
def test_single_sign_on_without_a_mapping_gets_no_access(access: Path, menus: list) -> None:
    at = sso_app({"email": "someone@elsewhere.example.org", "tid": TENANT, "oid": JO, "groups": []})
    assert errors(at) == [NO_ACCESS_TEXT]
    assert menus == [] and not at.title and not at.metric
    at.run()  # recorded once, not on every rerun
    denied = events(access, "access_denied")
    assert [(e["username"], e["details"]["method"], e["details"]["email"]) for e in denied] == [
        (f"sso:{JO}", "sso", "someone@elsewhere.example.org")
    ]
    at.button(key="sso_denied_sign_out").click().run()
    assert at.user == {"is_logged_in": False}
    assert any(b.label == "Sign in with Microsoft" for b in at.button)
    other_tenant = sso_app({"email": "chair@example.org", "tid": "another-tenant", "oid": CHAIR})
    assert errors(other_tenant) == [NO_ACCESS_TEXT]  # the right person, wrong tenant
    # The chair's email on another object id (an editable claim): no access.
    impostor = sso_app({"email": "chair@example.org", "tid": TENANT, "oid": JO})
    assert errors(impostor) == [NO_ACCESS_TEXT]


@pytest.mark.usefixtures("sso")
def test_a_single_sign_on_session_expires_and_signs_out_of_microsoft(
    access: Path, clock: Callable[[datetime], None]
) -> None:
    at = sso_app({"email": "chair@example.org", "tid": TENANT, "oid": CHAIR})
    assert at.title[0].value == "Board overview"
    clock(T0 + timedelta(hours=1))
    at.run()
    assert at.user == {"is_logged_in": False}  # st.logout(): the cookie is ended too
    assert events(access, "session_expired")[-1]["username"] == f"sso:{CHAIR}"
