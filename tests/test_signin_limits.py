"""Sign-in that resists guessing: the attacks of issue 8, run against the real code.

Real users files, real audit logs (SQLite), real argon2 and real threads; the only thing
added is a counter around the real argon2 verification, to count the password checks an
attack gets. Covered: ten simultaneous wrong passwords (at most SMHP_LOCKOUT_FAILURES
checks, and the lock holds for that client address only), the per-address and overall
limits (unknown usernames included, refused before any check), the bound on checks at
once, the client address (behind a trusted proxy too), the TOTP second factor through
the real ``smhp users`` command and the dashboard's form, and required second factors.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

import smhp.access.passwords as passwords
from smhp.access import audit, totp
from smhp.access.audit import AuditLog
from smhp.access.lockout import LockoutPolicy, address_key
from smhp.access.throttle import SIGN_IN_ATTEMPT, SIGN_IN_THROTTLED, client_address
from smhp.access.users import User, add_user, authenticate, enable_totp, load_users, lock_state
from smhp.settings import Settings, SettingsError

SMHP = str(Path(sys.executable).parent / "smhp")
APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"
ATTACKER, DESK, ELSEWHERE = "203.0.113.7", "198.51.100.20", "192.0.2.55"
POLICY = LockoutPolicy(max_failures=5, duration=timedelta(minutes=15), concurrency=10)


class Checks:
    """Counts the real argon2 verifications (a wrong password, or the dummy check of an
    unknown username); ``gate``, when set, holds each check until it is opened."""

    def __init__(self) -> None:
        self.count = 0
        self.started = threading.Event()
        self.gate: threading.Event | None = None
        self._lock = threading.Lock()
        self._real = passwords.verify_password

    def __call__(self, encoded: str, password: str) -> bool:
        with self._lock:
            self.count += 1
        self.started.set()
        if self.gate is not None:
            self.gate.wait(timeout=30)
        return self._real(encoded, password)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Checks:
    counter = Checks()
    monkeypatch.setattr(passwords, "verify_password", counter)  # the dummy check's
    monkeypatch.setattr("smhp.access.users.verify_password", counter)  # an account's
    return counter


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A users file with board, funder and admin (password ``PASSWORD``), hashed once."""
    path = tmp_path_factory.mktemp("accounts") / "users.json"
    for name in ("board", "funder", "admin"):
        add_user(path, User(name, name), PASSWORD)
    return path


class Site:
    """A private copy of ``accounts`` and an audit log of its own."""

    def __init__(self, root: Path, accounts: Path) -> None:
        self.users = root / "users.json"
        shutil.copyfile(accounts, self.users)
        self.users.chmod(0o600)
        self.audit = root / "audit.sqlite3"
        self.log = AuditLog(self.audit)

    def sign_in(
        self,
        username: str,
        password: str,
        address: str | None,
        now: datetime = T0,
        policy: LockoutPolicy = POLICY,
        code: str = "",
        required: tuple[str, ...] = (),
    ):
        return authenticate(
            username,
            password,
            now,
            users_file=self.users,
            log=self.log,
            policy=policy,
            address=address,
            code=code,
            totp_required=required,
        )

    def events(self, event: str | None = None) -> list[dict]:
        return list(reversed(self.log.recent(10_000, event=event)))


@pytest.fixture
def site(tmp_path: Path, accounts: Path) -> Site:
    return Site(tmp_path, accounts)


# --- the race ------------------------------------------------------------------------------


def _at_once(count: int, attempt) -> list:
    """Run ``attempt(i)`` in ``count`` threads released together; their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = attempt(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_ten_simultaneous_wrong_passwords_get_at_most_five_checks(
    site: Site, checks: Checks
) -> None:
    results = _at_once(10, lambda i: site.sign_in("board", f"{WRONG} {i}", ATTACKER))
    assert checks.count == POLICY.max_failures  # 5 of 10 reached argon2, not 10
    statuses = sorted(r.status for r in results)
    assert statuses.count("locked") >= 5 and set(statuses) <= {"failure", "locked"}
    # Every attempt was recorded before its check, with the client address; the rest
    # were refused as locked without one.
    attempts = site.events(SIGN_IN_ATTEMPT)
    assert len(attempts) == 5 and {a["details"]["client"] for a in attempts} == {ATTACKER}
    failed = site.events(audit.SIGN_IN_FAILED)
    assert sorted(f["details"]["attempt"] for f in failed) == sorted(a["id"] for a in attempts)
    assert len(site.events(audit.SIGN_IN_LOCKED)) == 5
    assert site.log.verify_chain()

    # Locked for the attacker's address, even with the right password, and no check made.
    before = checks.count
    assert site.sign_in("board", PASSWORD, ATTACKER).status == "locked"
    assert checks.count == before
    assert lock_state("board", T0, site.log, POLICY, ATTACKER) is not None
    # Not locked for the board member at their own desk: no lock-out by strangers.
    assert lock_state("board", T0, site.log, POLICY, DESK) is None
    assert site.sign_in("board", PASSWORD, DESK).ok
    assert site.sign_in("board", WRONG, None).status == "failure"  # nor without an address
    assert lock_state("board", T0, site.log, POLICY) is not None  # the admin's view: any


def test_a_success_elsewhere_does_not_reset_the_attackers_count(site: Site) -> None:
    for i in range(4):
        site.sign_in("admin", WRONG, ATTACKER, T0 + timedelta(seconds=i))
    assert site.sign_in("admin", PASSWORD, DESK, T0 + timedelta(seconds=5)).ok
    fifth = site.sign_in("admin", WRONG, ATTACKER, T0 + timedelta(seconds=6))
    assert fifth.status == "locked"


def test_unlock_ends_the_lock_out_from_every_address(site: Site) -> None:
    for i in range(5):
        site.sign_in("board", WRONG, ATTACKER, T0 + timedelta(seconds=i))
    site.log.record(audit.USER_UNLOCKED, "board", {"by": "test"}, at=T0 + timedelta(seconds=9))
    assert site.sign_in("board", PASSWORD, ATTACKER, T0 + timedelta(seconds=10)).ok


# --- per address and overall, before any check ------------------------------------------------


def test_failures_per_address_count_unknown_usernames_and_refuse_before_any_check(
    site: Site, checks: Checks
) -> None:
    policy = replace(POLICY, address_failures=3)
    typed = ["nobody", "9434765919", PASSWORD]  # what people type as usernames
    for i, name in enumerate(typed):
        assert site.sign_in(name, WRONG, ATTACKER, T0 + timedelta(seconds=i), policy).status == (
            "failure"
        )
    assert checks.count == 3  # unknown usernames cost a check like a wrong password
    refused = site.sign_in("funder", PASSWORD, ATTACKER, T0 + timedelta(seconds=5), policy)
    assert refused.status == "throttled" and not refused.ok
    assert checks.count == 3  # refused before argon2, even with the right password
    row = site.events()[-1]
    assert row["event"] == SIGN_IN_THROTTLED and row["username"] == "funder"
    assert row["details"]["client"] == ATTACKER and "client address" in row["details"]["reason"]
    # Unknown usernames: recorded with the client address, never the name typed.
    unknown = [e for e in site.events(audit.SIGN_IN_FAILED) if e["username"] is None]
    assert len(unknown) == 3 and {e["details"]["client"] for e in unknown} == {ATTACKER}
    stored = b"".join(p.read_bytes() for p in site.audit.parent.glob("audit.sqlite3*"))
    assert b"nobody" not in stored and b"9434765919" not in stored
    assert PASSWORD.encode() not in stored
    # Other addresses are untouched; the address is free again after the window.
    assert site.sign_in("funder", PASSWORD, DESK, T0 + timedelta(seconds=6), policy).ok
    later = T0 + timedelta(minutes=15, seconds=3)
    assert site.sign_in("funder", PASSWORD, ATTACKER, later, policy).ok


def test_an_ipv6_attacker_cannot_escape_the_address_limit_by_changing_address(
    site: Site, checks: Checks
) -> None:
    policy = replace(POLICY, address_failures=3)
    for i in range(3):
        site.sign_in("nobody", WRONG, f"2001:db8:1:2::{i + 1}", T0, policy)
    assert site.sign_in("nobody", WRONG, "2001:db8:1:2::99", T0, policy).status == "throttled"
    assert checks.count == 3
    assert site.sign_in("funder", PASSWORD, "2001:db8:1:3::1", T0, policy).ok  # another /64
    assert address_key("2001:db8:1:2::99") == "2001:db8:1:2::/64"
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_key(None) == "unknown"


def test_the_overall_limit_refuses_every_address(site: Site, checks: Checks) -> None:
    policy = replace(POLICY, global_per_minute=4)
    for i in range(4):  # four addresses, unknown usernames: no per-address limit reached
        site.sign_in(f"guess{i}", WRONG, f"203.0.113.{10 + i}", T0 + timedelta(seconds=i), policy)
    refused = site.sign_in("board", PASSWORD, DESK, T0 + timedelta(seconds=10), policy)
    assert refused.status == "throttled" and checks.count == 4
    assert "overall" in site.events(SIGN_IN_THROTTLED)[-1]["details"]["reason"]
    assert site.sign_in("board", PASSWORD, DESK, T0 + timedelta(seconds=61), policy).ok


# --- the bound on checks at once ----------------------------------------------------------------


def test_when_every_check_slot_is_taken_an_attempt_is_refused_at_once(
    site: Site, checks: Checks
) -> None:
    policy = replace(POLICY, concurrency=1)
    checks.gate = threading.Event()
    first: list = []
    holder = threading.Thread(
        target=lambda: first.append(site.sign_in("board", PASSWORD, DESK, T0, policy))
    )
    holder.start()
    try:
        assert checks.started.wait(timeout=30)  # the one slot is taken
        refused = site.sign_in("funder", PASSWORD, ELSEWHERE, T0, policy)
        assert refused.status == "throttled" and checks.count == 1  # no queueing, no check
    finally:
        checks.gate.set()
        holder.join(timeout=60)
    assert first[0].ok
    busy = site.events(SIGN_IN_THROTTLED)[-1]
    attempt = next(e for e in site.events(SIGN_IN_ATTEMPT) if e["username"] == "funder")
    assert busy["details"]["attempt"] == attempt["id"] and "at once" in busy["details"]["reason"]
    # A refusal for load is no guess: it does not count towards a lock-out.
    assert lock_state("funder", T0, site.log, policy, ELSEWHERE) is None
    assert site.sign_in("funder", PASSWORD, ELSEWHERE, T0, policy).ok


# --- the client address -------------------------------------------------------------------------


def test_the_client_address_is_recorded_on_every_sign_in_event(site: Site) -> None:
    assert site.sign_in("board", PASSWORD, DESK).ok
    attempt, signed = site.events()[-2:]
    assert (attempt["event"], signed["event"]) == (SIGN_IN_ATTEMPT, audit.SIGN_IN)
    assert attempt["details"] == {"method": "password", "client": DESK}
    assert signed["details"] == {
        "method": "password",
        "role": "board",
        "attempt": attempt["id"],
        "client": DESK,
    }


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        (None, ["203.0.113.7"], ("127.0.0.1", "::1"), "203.0.113.7"),  # behind nginx
        (None, ["10.0.0.1, 203.0.113.7"], ("127.0.0.1",), "203.0.113.7"),  # the last entry
        (None, ["10.0.0.1", "203.0.113.7"], ("::1",), "203.0.113.7"),  # repeated header
        (None, [], ("127.0.0.1", "::1"), "loopback"),  # a browser on the server itself
        (None, ["203.0.113.7"], (), "loopback"),  # no proxy trusted
        ("198.51.100.1", ["203.0.113.7"], ("127.0.0.1",), "198.51.100.1"),  # spoofed header
        ("10.1.2.3", ["2001:db8::1"], ("10.0.0.0/8",), "2001:db8::1"),  # a proxy network
        (None, ["unknown"], ("127.0.0.1",), "loopback"),  # not an address: not believed
        (None, ["203.0.113.7:4431"], ("127.0.0.1",), "loopback"),
    ],
)
def test_which_address_a_sign_in_comes_from(
    peer: str | None, forwarded: list[str], trusted: tuple[str, ...], expected: str
) -> None:
    assert client_address(peer, forwarded, trusted) == expected


# --- the second factor (TOTP) -------------------------------------------------------------------


def _cli(site: Site, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}
    command = [SMHP, "users", *args, "--users-file", str(site.users), "--audit-db", str(site.audit)]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, timeout=60)


def test_totp_enable_prints_the_secret_once_and_keeps_it_private(site: Site) -> None:
    done = _cli(site, "totp-enable", "Board")
    assert done.returncode == 0, done.stderr
    uri = next(line.strip() for line in done.stdout.splitlines() if "otpauth://" in line)
    parsed = urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    query = parse_qs(parsed.query)
    secret = query["secret"][0]
    assert query["issuer"] == ["SMHP dashboard"] and "board" in parsed.path
    assert f"secret: {secret}" in done.stdout
    stored = load_users(site.users)["board"]
    assert stored.totp_secret == secret and stored.user.totp
    assert stat.S_IMODE(site.users.stat().st_mode) == 0o600
    enabled = site.events(totp.TOTP_ENABLED)
    assert [e["username"] for e in enabled] == ["board"] and "by" in enabled[0]["details"]
    audit_bytes = b"".join(p.read_bytes() for p in site.audit.parent.glob("audit.sqlite3*"))
    assert secret.encode() not in audit_bytes

    listed = _cli(site, "list").stdout.splitlines()
    assert "2fa" in listed[0] and secret not in "\n".join(listed)
    assert " totp " in next(line for line in listed if line.startswith("board"))
    again = _cli(site, "totp-enable", "board")
    assert again.returncode == 1 and "already" in again.stderr
    assert load_users(site.users)["board"].totp_secret == secret  # not replaced
    assert _cli(site, "totp-enable", "nobody").returncode == 1

    done = _cli(site, "totp-disable", "board")
    assert done.returncode == 0, done.stderr
    assert load_users(site.users)["board"].totp_secret is None
    assert [e["username"] for e in site.events(totp.TOTP_DISABLED)] == ["board"]
    assert _cli(site, "totp-disable", "board").returncode == 1


def _reason(site: Site) -> str:
    return site.events(audit.SIGN_IN_FAILED)[-1]["details"]["reason"]


def test_a_code_is_needed_accepted_once_and_only_in_its_window(site: Site) -> None:
    secret, _ = enable_totp(site.users, "board")
    assert site.sign_in("board", PASSWORD, DESK, T0).status == "failure"
    assert _reason(site) == "no verification code"
    code = totp.code_at(secret, T0)
    assert site.sign_in("board", WRONG, DESK, T0, code=code).status == "failure"  # password
    assert _reason(site) == "wrong password"
    result = site.sign_in("board", PASSWORD, DESK, T0, code=f"{code[:3]} {code[3:]}")
    assert result.ok
    assert site.events(audit.SIGN_IN)[-1]["details"]["method"] == "password+totp"
    # The same code again (replayed by someone who saw it): refused.
    assert site.sign_in("board", PASSWORD, ELSEWHERE, T0 + timedelta(seconds=5), code=code).status
    assert _reason(site) == "verification code already used"
    # An older step's code, still inside the window: refused too (not newer).
    older = totp.code_at(secret, T0 - timedelta(seconds=30))
    assert not site.sign_in("board", PASSWORD, DESK, T0, code=older).ok
    assert _reason(site) == "verification code already used"
    # The next step's code works; one three steps away never does.
    assert site.sign_in(
        "board", PASSWORD, DESK, T0, code=totp.code_at(secret, T0 + timedelta(seconds=30))
    ).ok
    far = totp.code_at(secret, T0 + timedelta(seconds=120))
    assert not site.sign_in("board", PASSWORD, DESK, T0 + timedelta(seconds=31), code=far).ok
    assert _reason(site) == "wrong verification code"


def test_two_sign_ins_with_one_code_at_once_cannot_both_pass(site: Site) -> None:
    secret, _ = enable_totp(site.users, "admin")
    code = totp.code_at(secret, T0)
    results = _at_once(4, lambda i: site.sign_in("admin", PASSWORD, DESK, T0, code=code))
    assert sum(r.ok for r in results) == 1


def test_wrong_codes_count_towards_the_lock_out(site: Site, checks: Checks) -> None:
    secret, _ = enable_totp(site.users, "admin")
    for i in range(5):
        site.sign_in("admin", PASSWORD, ATTACKER, T0 + timedelta(seconds=i), code="000000")
    good = totp.code_at(secret, T0 + timedelta(seconds=10))
    locked = site.sign_in("admin", PASSWORD, ATTACKER, T0 + timedelta(seconds=10), code=good)
    assert locked.status == "locked" and checks.count == 5  # no sixth password check
    assert site.sign_in("admin", PASSWORD, DESK, T0 + timedelta(seconds=10), code=good).ok


def test_a_code_typed_by_a_user_without_a_second_factor_is_ignored(site: Site) -> None:
    assert site.sign_in("funder", PASSWORD, DESK, code="123456").ok


def test_roles_that_must_use_a_second_factor(site: Site) -> None:
    required = ("admin", "board")
    refused = site.sign_in("board", PASSWORD, DESK, required=required)
    assert refused.status == "failure"
    reason = _reason(site)
    assert "SMHP_TOTP_REQUIRED_ROLES" in reason and "smhp users totp-enable board" in reason
    assert site.sign_in("funder", PASSWORD, DESK, required=required).ok  # not a required role
    secret, _ = enable_totp(site.users, "board")
    code = totp.code_at(secret, T0)
    assert site.sign_in("board", PASSWORD, DESK, code=code, required=required).ok


# --- the dashboard's form ------------------------------------------------------------------------


@pytest.fixture
def dashboard_site(site: Site, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The dashboard on ``site``'s files (the admin page reads no warehouse)."""
    monkeypatch.setenv("SMHP_USERS_FILE", str(site.users))
    monkeypatch.setenv("SMHP_AUDIT_DB", str(site.audit))
    monkeypatch.setenv("SMHP_WAREHOUSE", str(site.users.parent / "no-warehouse.duckdb"))
    monkeypatch.setenv("SMHP_TOTP_REQUIRED_ROLES", "admin")
    monkeypatch.delenv("SMHP_ACCESS_CONFIG", raising=False)
    yield site


def _form(username: str, password: str, code: str = "") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    labels = [t.label for t in at.text_input]
    assert labels == ["Username", "Password", "Verification code (only if your account uses one)"]
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    at.text_input(key="signin_code").input(code)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def test_the_form_asks_everyone_for_a_code_and_tells_no_one_who_has_one(
    dashboard_site: Site,
) -> None:
    site = dashboard_site
    no_totp = _form("admin", PASSWORD)  # required for admins, not set up
    assert "SMHP_TOTP_REQUIRED_ROLES" in _reason(site)  # the admin's reason, in the log only
    no_account = _form("nobody", PASSWORD)
    messages = {tuple(e.value for e in at.error) for at in (no_totp, no_account)}
    assert len(messages) == 1  # one message, whatever went wrong
    secret = enable_totp(site.users, "admin")[0]
    wrong = _form("admin", PASSWORD, "000000")
    assert tuple(e.value for e in wrong.error) in messages
    assert wrong.text_input(key="signin_code").value == ""  # what was typed is wiped
    at = _form("admin", PASSWORD, totp.code_at(secret, datetime.now(UTC)))
    assert at.title[0].value == "Administration"
    signed = site.events(audit.SIGN_IN)[-1]
    assert signed["details"]["method"] == "password+totp"


# --- settings -------------------------------------------------------------------------------------


def test_sign_in_settings_defaults_and_mistakes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SMHP_SIGNIN_CONCURRENCY",
        "SMHP_SIGNIN_ADDRESS_FAILURES",
        "SMHP_SIGNIN_GLOBAL_PER_MINUTE",
        "SMHP_TRUSTED_PROXIES",
        "SMHP_TOTP_REQUIRED_ROLES",
        "SMHP_LOCKOUT_FAILURES",
        "SMHP_LOCKOUT_MINUTES",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert LockoutPolicy.from_settings(settings) == LockoutPolicy(
        5, timedelta(minutes=15), 20, 60, 2
    )
    assert settings.trusted_proxies == ("127.0.0.1", "::1")
    assert settings.totp_required_roles == ()
    monkeypatch.setenv("SMHP_TOTP_REQUIRED_ROLES", "admin, board")
    assert Settings.from_env().totp_required_roles == ("admin", "board")
    for name, value in (
        ("SMHP_TOTP_REQUIRED_ROLES", "admins"),
        ("SMHP_TRUSTED_PROXIES", "proxy.local"),
        ("SMHP_SIGNIN_CONCURRENCY", "0"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError, match=name):
            Settings.from_env()
        monkeypatch.delenv(name)


def test_the_users_file_keeps_no_second_factor_fields_for_users_without_one(site: Site) -> None:
    entries = json.loads(site.users.read_text(encoding="utf-8"))["users"]
    assert all("totp_secret" not in entry for entry in entries)
