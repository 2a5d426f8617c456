"""Alerts on the real demo warehouse: through a real SMTP server started here (aiosmtpd on
127.0.0.1, with and without STARTTLS and a login) and to the outbox as standard ``.eml``
files; once per signal, again after it resolved; a server that is down changes no state,
is audited and raises from the nightly add-on; ``smhp alerts --dry-run`` writes nothing;
no message names another institution to a manager, or a pseudonym to anyone.

Each test works on its own copy of the demo snapshot, so it may change it (a source made
stale, a month's figure lowered) to have a signal whatever the demo's dates.
"""

from __future__ import annotations

import email
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from dashboard_warehouse import APP, sign_in, tables
from streamlit.testing.v1 import AppTest

from dashboard.data import as_of
from smhp.access.audit import ALERT_FAILED, ALERT_SENT, AuditLog
from smhp.access.roles import BOARD_SCOPE
from smhp.alerts.delivery import Smtp
from smhp.alerts.nightly import AlertDeliveryError, after_run, run_alerts
from smhp.alerts.state import load_state, state_path
from smhp.cli import main
from smhp.pipeline.addons import FinishedRun
from smhp.settings import REPO_ROOT, Settings
from smhp.warehouse import resolve_published

OTHER_THAN_UOL = re.compile(r"\b(LJMU|HOPE|LIPA|LSTM|UOLIC|Partnership)\b|John Moores")
PSEUDONYM = re.compile(r"[0-9a-f]{64}")
ADMIN_SHOWN = 20  # dashboard.views.admin.ALERTS_SHOWN (a page script: not importable)


@pytest.fixture
def warehouse(demo_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the demo snapshot, with UOL's 6-week share of the latest complete
    month lowered to 10 %: a missed standard (and a concern) of UOL whatever the demo's
    dates, and a source made stale."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(resolve_published(demo_warehouse), copy)
    month = as_of(copy, BOARD_SCOPE).complete_month
    con = duckdb.connect(str(copy))
    try:
        con.execute(
            "update marts.metrics_monthly set value = 10.0 where institution_code = 'UOL' "
            "and metric = 'referral_seen_6wk_pct' and month = ?",
            [month],
        )
    finally:
        con.close()
    set_stale(copy, "referrals", True)
    return copy


def set_stale(warehouse: Path, source: str, stale: bool) -> None:
    """Mark ``source`` stale (or fresh) in the latest run's ``ops.freshness``."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "update ops.freshness set status = ? where source = ? and run_id = "
            "(select max(run_id) from ops.freshness)",
            ["stale" if stale else "fresh", source],
        )
    finally:
        con.close()


def settings_for(warehouse: Path, **overrides: object) -> Settings:
    folder = warehouse.parent
    chosen = {
        "warehouse": warehouse,
        "audit_db": folder / "audit.sqlite3",
        "alerts_outbox": folder / "outbox",
        "alerts_config": REPO_ROOT / "config" / "alerts.toml",
        "alerts_delivery": "outbox",
        **overrides,
    }
    return Settings.from_env(**chosen)


def finished(settings: Settings, outcome: str = "published", reason: str | None = None):
    return FinishedRun(
        run_id="20261130T050000000000Z",
        outcome=outcome,
        reason=reason,
        published=outcome.startswith("published"),
        snapshot=None,
        settings=settings,
        today=date(2026, 11, 30),
    )


def outbox(settings: Settings) -> list[EmailMessage]:
    """The outbox's messages, parsed as a mail client would."""
    paths = sorted(settings.alerts_outbox.glob("*.eml"))
    return [email.message_from_bytes(p.read_bytes(), policy=default) for p in paths]


def events(settings: Settings, event: str) -> list[dict]:
    return AuditLog(settings.audit_db).recent(1000, event=event)


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """aiosmtpd's handler: keeps every message received, and whether it came over TLS."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.tls: list[bool] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        self.tls.append(session.ssl is not None)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 (plain)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def check_messages(messages: list[EmailMessage]) -> None:
    """What every alert must be: ours, with a link, no pseudonym, a manager's own only."""
    assert messages
    for message in messages:
        text = f"{message['Subject']}\n{message.get_content()}"
        assert message["Subject"].startswith("[smhp] ")
        assert "See it on the dashboard: http://localhost:8501/" in text
        assert not PSEUDONYM.search(text), text
        if message["To"] == "uol.wellbeing@example.org":
            assert "UOL" in text and not OTHER_THAN_UOL.search(text), text


def test_alerts_through_a_real_smtp_server(warehouse: Path, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = settings_for(
        warehouse,
        alerts_delivery="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls="false",
    )
    summary = after_run(finished(settings, "blocked", "expectation marts_x failed"))
    assert f"message(s) sent through 127.0.0.1:{port}" in summary
    check_messages(inbox.messages)
    sent = events(settings, ALERT_SENT)
    assert len(sent) == len(inbox.messages)
    assert {e["details"]["delivery"] for e in sent} == {"smtp"}
    subjects = {(m["To"], m["Subject"]) for m in inbox.messages}
    concern = "[smhp] Standard missed: Seen within 6 weeks, UOL, "
    assert any(to == "uol.wellbeing@example.org" and s.startswith(concern) for to, s in subjects)
    run = [m for m in inbox.messages if "Run not published" in m["Subject"]]
    assert {m["To"] for m in run} == {"board@example.org", "smhp.admin@example.org"}
    assert "expectation marts_x failed" in run[0].get_content()
    assert "quality" in run[0].get_content()


def test_starttls_and_login(warehouse: Path, tmp_path: Path) -> None:
    """STARTTLS (the server's certificate verified) and a login with the password file."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret-for-tests")

    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    password = tmp_path / "smtp-password"
    password.write_text("s3cret-for-tests\n")
    password.chmod(0o600)
    settings = settings_for(warehouse)
    controller.start()
    try:
        report = run_alerts(
            settings,
            delivery=Smtp(
                "127.0.0.1",
                controller.port,
                starttls=True,
                username="smhp",
                password_file=password,
                context=ssl.create_default_context(cafile=str(cert)),
            ),
        )
    finally:
        controller.stop()
    assert not report.failed and len(inbox.messages) == len(report.outgoing) > 0
    assert all(inbox.tls) and logins == [(b"smhp", b"s3cret-for-tests")]
    check_messages(inbox.messages)
    assert not any("s3cret" in str(e["details"]) for e in events(settings, ALERT_SENT))


def pipeline_only(warehouse: Path) -> Path:
    """The committed alerts file with the figure rules off (a quicker evaluation)."""
    path = warehouse.parent / "alerts.toml"
    text = (REPO_ROOT / "config" / "alerts.toml").read_text()
    path.write_text(
        text.replace("spc_concern = true", "spc_concern = false").replace(
            "standard_missed = true", "standard_missed = false"
        )
    )
    return path


def test_outbox_once_per_signal_and_again_after_it_resolved(warehouse: Path) -> None:
    settings = settings_for(warehouse, alerts_config=pipeline_only(warehouse))
    first = after_run(finished(settings))
    written = outbox(settings)
    assert f"{len(written)} message(s) written to {settings.alerts_outbox}" in first
    check_messages(written)
    assert len(events(settings, ALERT_SENT)) == len(written)
    stale = [m for m in written if m["Subject"] == "[smhp] Stale source: referrals"]
    assert {m["To"] for m in stale} == {"board@example.org", "smhp.admin@example.org"}

    assert "no message to send" in after_run(finished(settings))  # unchanged: nothing new
    assert len(outbox(settings)) == len(written)

    set_stale(warehouse, "referrals", False)  # resolved: forgotten
    after_run(finished(settings))
    key = "source_stale:referrals:-:-"
    assert key not in load_state(state_path(warehouse)).first_seen
    assert len(outbox(settings)) == len(written)

    set_stale(warehouse, "referrals", True)  # back: told again
    assert "1 new" in after_run(finished(settings))
    again = outbox(settings)[len(written) :]
    assert sorted(m["To"] for m in again) == ["board@example.org", "smhp.admin@example.org"]
    assert {m["Subject"] for m in again} == {"[smhp] Stale source: referrals"}


def test_a_mail_server_that_is_down(warehouse: Path) -> None:
    """Nothing listening: state unchanged, every message audited as failed, the add-on
    raises (the hook records it; the run's outcome and data are untouched)."""
    settings = settings_for(warehouse, alerts_config=pipeline_only(warehouse))
    after_run(finished(settings))  # the stale sources told through the outbox
    path = state_path(warehouse)
    before = path.read_bytes()
    down = settings_for(
        warehouse,
        alerts_delivery="smtp",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_starttls="false",
        alerts_config=settings.alerts_config,
    )
    with pytest.raises(AlertDeliveryError, match="NOT delivered") as caught:
        after_run(finished(down, "failed", "disk full"))
    assert "ConnectionRefusedError" in str(caught.value)
    assert path.read_bytes() == before
    failed = events(settings, ALERT_FAILED)
    assert {e["details"]["recipient"] for e in failed} == {
        "board@example.org",
        "smhp.admin@example.org",
    }
    assert {e["details"]["signal"] for e in failed} == {"run_not_published:failed:-:-"}
    # the next run, with the server back (the outbox here), tells them after all
    assert "2 message(s) written" in after_run(finished(settings, "failed", "disk full"))


def test_dry_run_prints_and_writes_nothing(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(warehouse)
    monkeypatch.setenv("SMHP_AUDIT_DB", str(settings.audit_db))
    monkeypatch.setenv("SMHP_ALERTS_OUTBOX", str(settings.alerts_outbox))
    monkeypatch.setenv("SMHP_ALERTS_DELIVERY", "outbox")
    monkeypatch.delenv("SMHP_ALERTS_CONFIG", raising=False)
    files = set(warehouse.parent.rglob("*"))
    assert main(["alerts", "--dry-run", "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "To: uol.wellbeing@example.org" in out
    assert "Subject: [smhp] Standard missed: Seen within 6 weeks, UOL, " in out
    assert "would be written to" in out and "dry run: nothing sent" in out
    assert set(warehouse.parent.rglob("*")) == files  # no outbox, state, lock or audit log
    assert not PSEUDONYM.search(out)


def test_the_admin_page_shows_the_outbox_and_the_sends(
    warehouse: Path, private_access: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(warehouse, audit_db=private_access)  # the page's audit log
    monkeypatch.setenv("SMHP_ALERTS_OUTBOX", str(settings.alerts_outbox))
    monkeypatch.setenv("SMHP_ALERTS_DELIVERY", "outbox")
    after_run(finished(settings))
    newest = outbox(settings)[::-1][:ADMIN_SHOWN]
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "admin")
    assert not at.exception, at.exception
    shown = tables(at)
    assert list(shown["admin_alert_outbox"]["Subject"]) == [m["Subject"] for m in newest]
    assert list(shown["admin_alert_outbox"]["To"]) == [m["To"] for m in newest]
    sends = shown["admin_alert_sends"]
    assert set(sends["Outcome"]) == {"sent"}
    assert len(sends) == min(ADMIN_SHOWN, len(events(settings, ALERT_SENT)))
    bodies = {e.label: e.text[0].value for e in at.expander if e.label.startswith("[smhp]")}
    body = newest[0].get_content().replace("\r\n", "\n")
    assert bodies[f"{newest[0]['Subject']} (to {newest[0]['To']})"].strip() == body.strip()
