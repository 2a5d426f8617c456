"""Exports that cannot escape the audit log (issue 8): CSV downloads built only on an audited
click, granted to the browser and session that asked, and record-level tables logged when
shown. The pages run in Streamlit's AppTest against the real demo warehouse and a real
audit log; the browser half (a real download, the URL refused to anyone else and after
sign-out, no toolbar export) is in tests/e2e/test_browser.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dashboard_warehouse import APP, open_details, sign_in
from streamlit.testing.v1 import AppTest
from streamlit.web.server.starlette.starlette_app_utils import generate_xsrf_token_string

from dashboard import downloads
from dashboard.auth import seal
from smhp.access.audit import AuditLog


@pytest.fixture(autouse=True)
def access(private_access: Path) -> Path:
    """The demo warehouse, a private copy of the demo users and a fresh audit log."""
    return private_access


def events(audit_db: Path, event: str) -> list[dict]:
    return list(reversed(AuditLog(audit_db).recent(10_000, event=event)))


def signed_in(username: str) -> AppTest:
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), username)
    assert not at.exception, at.exception
    return at


def test_drawing_a_page_builds_no_download_and_a_click_is_audited_first(
    access: Path, clicks: dict
) -> None:
    built: list[bytes] = []
    real = downloads.csv_bytes
    open_details(signed_in("funder"))
    assert "funder_totals" in clicks and events(access, "download") == []  # nothing yet
    downloads.csv_bytes = lambda *a: built.append(real(*a)) or built[-1]  # type: ignore[assignment]
    try:
        data = clicks["funder_totals"]()
    finally:
        downloads.csv_bytes = real  # type: ignore[assignment]
    assert built == [data] and data.startswith(b"Measure,Value")
    (recorded,) = events(access, "download")
    assert recorded["username"] == "funder"
    assert recorded["details"]["file"] == "funder_totals.csv"
    assert recorded["details"]["page"] == "funder" and recorded["details"]["session"]


def test_a_section_under_a_chart_or_table_is_drawn_only_when_opened(access: Path) -> None:
    """Closed, a section binds no download and draws no table; opening one is not a new
    page view (its state is not a filter) and builds no file."""
    at = signed_in("funder")
    sections = [e for e in at.expander if e.key and e.key.endswith("_details")]
    shown, views = len(at.dataframe), len(events(access, "page_view"))
    assert sections and not at.get("download_button")
    open_details(at)
    assert len(at.get("download_button")) == len(sections)  # one download in each
    assert len(at.dataframe) > shown  # the charts' numbers
    assert len(events(access, "page_view")) == views
    assert events(access, "download") == []


def test_a_button_left_on_screen_after_sign_out_builds_nothing(access: Path, clicks: dict) -> None:
    at = open_details(signed_in("board"))
    build = clicks["overview_tiles"] if "overview_tiles" in clicks else next(iter(clicks.values()))
    at.button(key="sign_out").click().run()
    with pytest.raises(downloads.DownloadRefused):
        build()
    assert events(access, "download") == []


def test_no_file_is_built_when_the_audit_log_cannot_be_written(
    access: Path, clicks: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_details(signed_in("funder"))
    build = clicks["funder_totals"]

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(AuditLog, "record", broken)
    with pytest.raises(OSError):
        build()


def test_a_built_file_is_granted_to_its_browser_and_live_session_only(
    access: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = signed_in("board")
    session = at.session_state[seal.SESSION_KEY]
    token = b"0123456789abcdef"
    mine = generate_xsrf_token_string(token)
    again = generate_xsrf_token_string(token)  # the same browser, the cookie re-issued
    theirs = generate_xsrf_token_string(b"fedcba9876543210")
    downloads._grant(b"a,b\n1,2\n", session, token)
    assert downloads.may_fetch(b"a,b\n1,2\n", mine) and downloads.may_fetch(b"a,b\n1,2\n", again)
    assert not downloads.may_fetch(b"a,b\n1,2\n", theirs)  # another browser
    assert not downloads.may_fetch(b"a,b\n1,2\n", None)  # a script without the cookie
    assert not downloads.may_fetch(b"other,file\n", mine)  # never granted
    later = time.monotonic() + downloads.GRANT_SECONDS + 1
    monkeypatch.setattr(downloads.time, "monotonic", lambda: later)
    assert not downloads.may_fetch(b"a,b\n1,2\n", mine)  # expired
    monkeypatch.undo()
    at.button(key="sign_out").click().run()
    assert not downloads.may_fetch(b"a,b\n1,2\n", mine)  # the session has ended


def test_a_record_level_table_is_recorded_when_shown(access: Path) -> None:
    at = signed_in("manager_uol")
    (shown,) = events(access, "records_viewed")
    assert shown["username"] == "manager_uol"
    assert shown["details"]["table"] == "service_worklist" and shown["details"]["rows"] > 0
    at.run()  # the same table again: not recorded twice
    assert len(events(access, "records_viewed")) == 1
    month = at.selectbox(key="service_worklist_month")
    at = month.select(month.options[-1]).run()
    assert len(events(access, "records_viewed")) == 2  # another filter: recorded again
    assert events(access, "records_viewed")[-1]["details"]["filters"]


def test_a_funder_never_gets_a_record_level_table(access: Path) -> None:
    at = signed_in("funder")
    for page in ("funder", "equity"):
        at = at.switch_page(f"views/{page}.py").run()
        assert not at.exception
    assert events(access, "records_viewed") == []


def test_a_failing_audit_log_ends_the_session_and_its_granted_files(
    access: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a page view cannot be recorded the viewer is signed out completely: the session
    stops being live, so a file granted to it a moment before is not served any more."""
    at = signed_in("board")
    session = at.session_state[seal.SESSION_KEY]
    token = b"0123456789abcdef"
    downloads._grant(b"a,b\n1,2\n", session, token)
    assert downloads.may_fetch(b"a,b\n1,2\n", generate_xsrf_token_string(token))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(AuditLog, "record", broken)
    at.radio(key="board_window").set_value("all").run()  # a changed filter: a page view
    assert not seal.session_is_live(session)
    assert seal.SESSION_KEY not in at.session_state
    assert not downloads.may_fetch(b"a,b\n1,2\n", generate_xsrf_token_string(token))
