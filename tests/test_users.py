"""Local sign-in: the users file through the real ``smhp users`` command, password checks,
lock-out that survives a restart, session expiry, and the demo users. No password ever
reaches the users file or the audit log."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smhp.access import Access, LockoutPolicy, Session, SessionPolicy, audit, pages_for, scope_for
from smhp.access.audit import AuditLog
from smhp.access.throttle import SIGN_IN_ATTEMPT
from smhp.access.users import (
    DEMO_USERS,
    User,
    UserError,
    add_user,
    authenticate,
    create_demo_users,
    find_user,
    list_users,
    load_users,
)
from smhp.settings import Settings

SMHP = str(Path(sys.executable).parent / "smhp")
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"
POLICY = LockoutPolicy(max_failures=5, duration=timedelta(minutes=15))


class Files:
    """A users file and an audit log in a temporary folder, as the CLI and app see them."""

    def __init__(self, root: Path) -> None:
        self.users = root / "var" / "users.json"
        self.audit = root / "var" / "audit.sqlite3"

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}
        command = [SMHP, "users", *args, "--users-file", str(self.users)]
        command += ["--audit-db", str(self.audit)]
        return subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )

    def sign_in(self, username: str, password: str, now: datetime):
        return authenticate(
            username, password, now, users_file=self.users, log=AuditLog(self.audit), policy=POLICY
        )

    def stored_bytes(self) -> bytes:
        """Every byte of the users file and the audit log (with its WAL files)."""
        paths = [self.users, *sorted(self.audit.parent.glob(self.audit.name + "*"))]
        return b"".join(p.read_bytes() for p in paths if p.exists())


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


# --- the command -------------------------------------------------------------------------


def test_cli_add_list_set_password_remove(files: Files) -> None:
    done = files.cli(
        "add",
        "Manager_UOL",
        "--role",
        "service_manager",
        "--institution",
        "UOL",
        "--display-name",
        "Sam Manager",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "added manager_uol" in done.stdout
    assert stat.S_IMODE(files.users.stat().st_mode) == 0o600
    assert PASSWORD.encode() not in files.users.read_bytes()
    assert b"$argon2id$" in files.users.read_bytes()

    listed = files.cli("list")
    assert listed.returncode == 0, listed.stderr
    assert "manager_uol" in listed.stdout and "service_manager" in listed.stdout
    assert "UOL" in listed.stdout and "Sam Manager" in listed.stdout
    assert "argon2" not in listed.stdout and "$" not in listed.stdout

    assert files.sign_in("manager_uol", PASSWORD, T0).ok
    done = files.cli("set-password", "manager_uol", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(files.users.stat().st_mode) == 0o600
    assert not files.sign_in("manager_uol", PASSWORD, T0).ok
    assert files.sign_in("manager_uol", NEW_PASSWORD, T0).ok

    done = files.cli("remove", "manager_uol")
    assert done.returncode == 0, done.stderr
    assert "no users" in files.cli("list").stdout
    assert files.sign_in("manager_uol", NEW_PASSWORD, T0).status == "failure"

    events = [r["event"] for r in AuditLog(files.audit).recent(20)]
    for event in (audit.USER_ADDED, audit.PASSWORD_SET, audit.USER_REMOVED):
        assert event in events
    assert PASSWORD.encode() not in files.stored_bytes()
    assert NEW_PASSWORD.encode() not in files.stored_bytes()
    assert not list(files.users.parent.glob(".users.json.*.tmp"))  # no temporary file left


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "x", "--role", "board", "--password-stdin"), "short\n", "at least 12"),
        (("add", "x", "--role", "service_manager", "--password-stdin"), PASSWORD, "at least one"),
        (
            ("add", "x", "--role", "service_manager", "--institution", "UoL", "--password-stdin"),
            PASSWORD,
            "unknown institution",
        ),
        (
            ("add", "x", "--role", "board", "--institution", "UOL", "--password-stdin"),
            PASSWORD,
            "only a",
        ),
        (("add", "9434765919", "--role", "board", "--password-stdin"), PASSWORD, "NHS number"),
        (("add", "bad name", "--role", "board", "--password-stdin"), PASSWORD, "username"),
        (("add", "x", "--role", "board"), None, "--password-stdin"),  # no terminal to prompt
        (("remove", "nobody"), None, "no user nobody"),
        (("set-password", "nobody", "--password-stdin"), PASSWORD, "no user nobody"),
        (("unlock", "nobody"), None, "no user nobody"),
    ],
)
def test_cli_refuses_invalid_requests(
    files: Files, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    done = files.cli(*args, stdin=stdin)
    assert done.returncode == 1
    assert message in done.stderr
    assert not files.users.exists() or list_users(files.users) == []


def test_cli_list_warns_about_a_users_file_others_can_read(files: Files) -> None:
    assert (
        files.cli("add", "board", "--role", "board", "--password-stdin", stdin=PASSWORD).returncode
        == 0
    )
    assert "readable by others" not in files.cli("list").stderr
    files.users.chmod(0o644)
    assert "chmod 600" in files.cli("list").stderr
    files.cli("set-password", "board", "--password-stdin", stdin=NEW_PASSWORD)
    assert stat.S_IMODE(files.users.stat().st_mode) == 0o600  # rewriting makes it private again


def test_cli_usage_errors_exit_2(files: Files) -> None:
    assert (
        files.cli("add", "x", "--role", "owner", "--password-stdin", stdin=PASSWORD).returncode == 2
    )
    assert files.cli("frobnicate").returncode == 2


def test_cli_refuses_a_duplicate_username(files: Files) -> None:
    assert (
        files.cli("add", "board", "--role", "board", "--password-stdin", stdin=PASSWORD).returncode
        == 0
    )
    again = files.cli("add", "BOARD", "--role", "funder", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert [u.role for u in list_users(files.users)] == ["board"]


def test_parallel_adds_all_land(files: Files) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}
    procs = [
        subprocess.Popen(
            [
                SMHP,
                "users",
                "add",
                f"user{i}",
                "--role",
                "funder",
                "--password-stdin",
                "--users-file",
                str(files.users),
                "--audit-db",
                str(files.audit),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(PASSWORD + "\n", timeout=60)
        assert proc.returncode == 0, err
    assert [u.username for u in list_users(files.users)] == [f"user{i}" for i in range(4)]
    assert AuditLog(files.audit).verify_chain()


# --- sign-in -----------------------------------------------------------------------------


def _add(files: Files, username: str = "board", role: str = "board") -> None:
    add_user(files.users, User(username, role), PASSWORD, now=T0)


def test_right_password_signs_in_with_the_users_access(files: Files) -> None:
    add_user(files.users, User("m", "service_manager", ("HOPE", "LIPA")), PASSWORD)
    result = files.sign_in("M ", PASSWORD, T0)
    assert result.ok and result.status == "success"
    assert result.user is not None and result.user.access == Access(
        "service_manager", ("HOPE", "LIPA"), "m"
    )
    assert scope_for(result.user.access).institutions == ("HOPE", "LIPA")
    last = AuditLog(files.audit).recent(1)[0]
    assert (last["event"], last["username"], last["at"]) == (audit.SIGN_IN, "m", T0)


def test_wrong_password_fails(files: Files) -> None:
    _add(files)
    result = files.sign_in("board", PASSWORD + "x", T0)
    assert (result.ok, result.status, result.locked_until) == (False, "failure", None)
    assert AuditLog(files.audit).recent(1)[0]["event"] == audit.SIGN_IN_FAILED


def test_unknown_user_fails_without_storing_the_name_typed(files: Files) -> None:
    _add(files)
    # People type their password into the username box: it must not end up in the log.
    result = files.sign_in(PASSWORD, PASSWORD, T0)
    assert result.status == "failure" and result.user is None
    row = AuditLog(files.audit).recent(1)[0]
    assert row["event"] == audit.SIGN_IN_FAILED and row["username"] is None
    assert PASSWORD.encode() not in files.stored_bytes()


def test_unknown_user_costs_a_full_hash_check_like_a_wrong_password(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No timing in a test: count the slow argon2 verifications each path makes instead."""
    _add(files)
    import smhp.access.passwords as passwords

    calls: list[str] = []
    real = passwords.verify_password

    def counting(encoded: str, password: str) -> bool:
        calls.append(encoded)
        return real(encoded, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    monkeypatch.setattr("smhp.access.users.verify_password", counting)
    files.sign_in("board", "not the password", T0)
    known = len(calls)
    calls.clear()
    files.sign_in("nobody", "not the password", T0)
    assert known == len(calls) == 1


def test_five_failures_lock_out_even_the_right_password_until_it_passes(files: Files) -> None:
    _add(files)
    statuses = [
        files.sign_in("board", "wrong password!", T0 + timedelta(seconds=i)).status
        for i in range(5)
    ]
    assert statuses == ["failure"] * 4 + ["locked"]
    fifth = T0 + timedelta(seconds=4)

    locked = files.sign_in("board", PASSWORD, fifth + timedelta(minutes=5))
    assert locked.status == "locked" and not locked.ok
    assert locked.locked_until == fifth + timedelta(minutes=15)
    # Attempts during the lock do not extend it.
    files.sign_in("board", PASSWORD, fifth + timedelta(minutes=14, seconds=59))
    assert files.sign_in("board", PASSWORD, fifth + timedelta(minutes=15)).ok
    events = [r["event"] for r in AuditLog(files.audit).recent(4)]
    # Newest first: the success names its attempt, recorded before the password check.
    assert events == [audit.SIGN_IN, SIGN_IN_ATTEMPT, audit.SIGN_IN_LOCKED, audit.SIGN_IN_LOCKED]


def test_lock_out_survives_a_restart(files: Files) -> None:
    _add(files)
    for i in range(5):
        files.sign_in("board", "wrong password!", T0 + timedelta(seconds=i))
    # A new process: nothing but the files on disk (a fresh AuditLog on the same path).
    done = subprocess.run(
        [sys.executable, "-c", _RESTART_SCRIPT, str(files.users), str(files.audit), T0.isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "locked"


_RESTART_SCRIPT = """
import sys
from datetime import datetime, timedelta
from pathlib import Path
from smhp.access import LockoutPolicy
from smhp.access.audit import AuditLog
from smhp.access.users import authenticate
users, db, t0 = Path(sys.argv[1]), Path(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
result = authenticate("board", "correct horse battery staple", t0 + timedelta(minutes=10),
                      users_file=users, log=AuditLog(db), policy=LockoutPolicy())
print(result.status)
"""


def test_failures_count_again_after_a_lock_passes_and_reset_on_success(files: Files) -> None:
    _add(files)
    for i in range(5):
        files.sign_in("board", "wrong password!", T0 + timedelta(seconds=i))
    after = T0 + timedelta(minutes=20)
    statuses = [
        files.sign_in("board", "wrong!", after + timedelta(seconds=i)).status for i in range(4)
    ]
    assert statuses == ["failure"] * 4  # a fresh count of five after the lock
    assert files.sign_in("board", PASSWORD, after + timedelta(seconds=5)).ok
    statuses = [
        files.sign_in("board", "wrong!", after + timedelta(seconds=6 + i)).status for i in range(4)
    ]
    assert statuses == ["failure"] * 4  # the success reset the count


def test_unlock_ends_a_lock_out(files: Files) -> None:
    _add(files)
    now = datetime.now(UTC)
    for i in range(5):
        files.sign_in("board", "wrong password!", now + timedelta(seconds=i))
    assert "locked until" in files.cli("list").stdout
    done = files.cli("unlock", "board")
    assert done.returncode == 0, done.stderr
    assert "active" in files.cli("list").stdout
    assert files.sign_in("board", PASSWORD, now + timedelta(seconds=10)).ok


def test_lock_out_counts_per_user(files: Files) -> None:
    _add(files, "board")
    _add(files, "funder", "funder")
    for i in range(5):
        files.sign_in("board", "wrong password!", T0 + timedelta(seconds=i))
    assert files.sign_in("funder", PASSWORD, T0 + timedelta(seconds=6)).ok


def test_users_file_is_validated(files: Files) -> None:
    with pytest.raises(UserError, match="unknown role"):
        add_user(files.users, User("x", "owner"), PASSWORD)
    files.users.parent.mkdir(parents=True)
    files.users.write_text('{"users": []}', encoding="utf-8")
    with pytest.raises(UserError, match="not an smhp users file"):
        load_users(files.users)


def test_find_user_sees_changes_made_by_the_cli(files: Files) -> None:
    _add(files, "funder", "funder")
    assert find_user(files.users, "FUNDER") == User("funder", "funder")
    files.cli("remove", "funder")
    assert find_user(files.users, "funder") is None


# --- sessions ----------------------------------------------------------------------------


def _session(now: datetime = T0) -> Session:
    return Session.start(Access("board", None, "board"), now, SessionPolicy())


def test_session_idle_timeout() -> None:
    session = _session()
    assert not session.is_expired(T0 + timedelta(minutes=29, seconds=59))
    assert session.is_expired(T0 + timedelta(minutes=30))
    assert session.touch(T0 + timedelta(minutes=20))
    assert not session.is_expired(T0 + timedelta(minutes=49))  # activity moved the window
    assert session.is_expired(T0 + timedelta(minutes=50))


def test_session_absolute_timeout_despite_activity() -> None:
    session = _session()
    now = T0
    while now < T0 + timedelta(hours=7, minutes=50):
        now += timedelta(minutes=10)
        assert session.touch(now)
    assert not session.is_expired(T0 + timedelta(hours=7, minutes=59))
    assert session.is_expired(T0 + timedelta(hours=8))
    assert session.expires_at() == T0 + timedelta(hours=8)


def test_an_expired_session_is_not_revived() -> None:
    session = _session()
    assert not session.touch(T0 + timedelta(hours=1))
    assert session.last_seen == T0
    assert session.is_expired(T0 + timedelta(hours=1, seconds=1))


def test_session_policy_from_settings_and_aware_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMHP_SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("SMHP_SESSION_MAX_HOURS", "1")
    policy = SessionPolicy.from_settings(Settings.from_env())
    assert policy == SessionPolicy(timedelta(minutes=5), timedelta(hours=1))
    session = Session.start(Access("funder", None, "f"), T0, policy, method="sso")
    assert session.is_expired(T0 + timedelta(minutes=5))
    assert session.method == "sso" and len(session.session_id) == 16
    with pytest.raises(ValueError, match="timezone-aware"):
        session.is_expired(datetime(2026, 11, 24, 9, 1))


# --- the demo users ------------------------------------------------------------------------


def test_demo_users_sign_in_and_no_password_is_ever_stored(files: Files) -> None:
    created = create_demo_users(files.users)
    assert [(u, r, i) for u, _, r, i in created] == [
        ("board", "board", None),
        ("manager_uol", "service_manager", ("UOL",)),
        ("manager_hope_lipa", "service_manager", ("HOPE", "LIPA")),
        ("funder", "funder", None),
        ("admin", "admin", None),
    ]
    assert len(created) == len(DEMO_USERS)
    assert stat.S_IMODE(files.users.stat().st_mode) == 0o600
    for username, password, role, _ in created:
        assert "demo" in password
        assert files.sign_in(username, password + "?", T0).status == "failure"
        result = files.sign_in(username, password, T0)
        assert result.ok and result.user is not None and result.user.role == role
        assert pages_for(result.user.role)
    # Wrong passwords typed with password-like detail keys must not land either.
    AuditLog(files.audit).record(audit.SIGN_IN_FAILED, "board", {"password": created[0][1]})

    stored = files.stored_bytes()
    for _, password, _, _ in created:
        assert password.encode() not in stored
        assert (password + "?").encode() not in stored
    assert AuditLog(files.audit).verify_chain()

    # Creating them again (a second demo run) replaces them; nothing doubles.
    create_demo_users(files.users)
    assert len(list_users(files.users)) == 5
