"""Local sign-in: the users file, password checks, lock-out and the demo users.

The embedded default for a deployment without single sign-on (and the demo). The file
(``SMHP_USERS_FILE``, default ``var/users.json``) holds per user: username, role,
institutions (service managers), optional display name and email, and an argon2id hash
— never a password. It is written atomically (temporary file, fsync, rename) with mode
0600 under a lock, so a crash or two admins at once cannot leave it half-written.
``authenticate`` is what the login form calls; it records every attempt in the audit
log, which is also where the lock-out state lives.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from smhp import audit
from smhp.access.lockout import LockoutPolicy, locked_until
from smhp.access.passwords import (
    burn_verification_time,
    check_strength,
    hash_password,
    verify_password,
)
from smhp.access.roles import ADMIN, BOARD, FUNDER, SERVICE_MANAGER, Access, check_grant
from smhp.settings import Settings

FILE_FORMAT = "smhp-users"
FILE_VERSION = 1
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


class UserError(ValueError):
    """A user operation that cannot be done (no such user, already exists, bad value)."""


@dataclass(frozen=True)
class User:
    """A user as the app and the CLI see it: never with the password hash."""

    username: str
    role: str
    institutions: tuple[str, ...] | None = None
    display_name: str | None = None
    email: str | None = None

    @property
    def access(self) -> Access:
        """What this user may see (``smhp.access.scope_for`` / ``pages_for`` take it)."""
        return Access(self.role, self.institutions, self.username)


@dataclass(frozen=True)
class StoredUser:
    """A user with their hash and dates, as kept in the file."""

    user: User
    password_hash: str
    created_at: str
    password_changed_at: str


def normalise_username(username: str) -> str:
    """Usernames are compared lower-case and without surrounding spaces."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalised username, or ``UserError`` if it is not a valid one."""
    name = normalise_username(username)
    if not _USERNAME.fullmatch(name):
        raise UserError(
            "a username is 1-64 characters: lower-case letters, digits and . _ @ -, "
            "starting with a letter or digit"
        )
    if audit.looks_like_nhs_number(name):
        raise UserError("a username must not look like an NHS number")
    return name


# --- the file ---------------------------------------------------------------------------


def _to_json(entry: StoredUser) -> dict[str, Any]:
    user = entry.user
    return {
        "username": user.username,
        "role": user.role,
        "institutions": list(user.institutions) if user.institutions is not None else None,
        "display_name": user.display_name,
        "email": user.email,
        "password_hash": entry.password_hash,
        "created_at": entry.created_at,
        "password_changed_at": entry.password_changed_at,
    }


def _from_json(data: dict[str, Any]) -> StoredUser:
    institutions = data.get("institutions")
    user = User(
        username=str(data["username"]),
        role=str(data["role"]),
        institutions=tuple(institutions) if institutions is not None else None,
        display_name=data.get("display_name"),
        email=data.get("email"),
    )
    return StoredUser(
        user, str(data["password_hash"]), data["created_at"], data["password_changed_at"]
    )


def load_users(path: Path) -> dict[str, StoredUser]:
    """Every user in ``path`` by username; an empty dict if the file does not exist."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON: {exc}") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != FILE_FORMAT
        or data.get("version") != FILE_VERSION
    ):
        raise UserError(f"{path} is not an smhp users file (format {FILE_VERSION})")
    entries = (_from_json(item) for item in data.get("users", []))
    return {entry.user.username: entry for entry in entries}


def save_users(path: Path, users: dict[str, StoredUser]) -> None:
    """Replace ``path`` atomically with ``users``; the file is created with mode 0600.

    The temporary file is made private before anything is written to it, fsynced, then
    renamed over the old file (and the folder fsynced), so readers see the old or the
    new file, never a mix, and the hashes are never readable by others, even briefly.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    body = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "users": [_to_json(users[name]) for name in sorted(users)],
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(body, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@contextmanager
def _editing(path: Path) -> Iterator[dict[str, StoredUser]]:
    """Load, let the caller change, and save ``path`` under an exclusive lock."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        users = load_users(path)
        yield users
        save_users(path, users)
    finally:
        os.close(fd)  # closing releases the lock


def _now_text(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


# --- operations (the CLI's sub-commands) ------------------------------------------------


def add_user(path: Path, user: User, password: str, *, now: datetime | None = None) -> User:
    """Add ``user`` with ``password``; ``UserError`` if the username exists or a value
    is invalid (unknown role, institutions not allowed for the role, short password)."""
    name = check_username(user.username)
    try:
        institutions = check_grant(user.role, user.institutions)
        check_strength(password)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    user = replace(user, username=name, institutions=institutions)
    stamp = _now_text(now)
    with _editing(path) as users:
        if name in users:
            raise UserError(f"user {name} already exists (use set-password to change it)")
        users[name] = StoredUser(user, hash_password(password), stamp, stamp)
    return user


def remove_user(path: Path, username: str) -> None:
    """Remove ``username``; ``UserError`` if there is no such user."""
    name = normalise_username(username)
    with _editing(path) as users:
        if users.pop(name, None) is None:
            raise UserError(f"no user {name}")


def set_password(path: Path, username: str, password: str, *, now: datetime | None = None) -> None:
    """Give ``username`` a new password (hashed with the current parameters)."""
    name = normalise_username(username)
    try:
        check_strength(password)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    with _editing(path) as users:
        if name not in users:
            raise UserError(f"no user {name}")
        users[name] = replace(
            users[name], password_hash=hash_password(password), password_changed_at=_now_text(now)
        )


def list_users(path: Path) -> list[User]:
    """Every user, sorted by username (no hashes)."""
    return [entry.user for _, entry in sorted(load_users(path).items())]


def find_user(path: Path, username: str) -> User | None:
    """The user named ``username``, or ``None``: the app re-checks this on every rerun,
    so a removed user or a changed role takes effect without waiting for the session
    to expire."""
    entry = load_users(path).get(normalise_username(username))
    return entry.user if entry else None


# --- sign-in ----------------------------------------------------------------------------

AuthStatus = Literal["success", "failure", "locked"]


@dataclass(frozen=True)
class AuthResult:
    """The outcome of one sign-in attempt.

    Show the viewer the same message for ``failure`` and ``locked`` (and for an unknown
    username, which is a ``failure``): telling them apart would tell an attacker which
    usernames exist. ``locked_until`` is for the admin page and the audit log.
    """

    status: AuthStatus
    user: User | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the viewer is signed in."""
        return self.status == "success"


def lock_state(
    username: str, now: datetime, log: audit.AuditLog, policy: LockoutPolicy
) -> datetime | None:
    """When ``username``'s lock-out ends, or ``None`` if they are not locked out."""
    return locked_until(log.failure_times(normalise_username(username)), now, policy)


def authenticate(
    username: str,
    password: str,
    now: datetime,
    *,
    users_file: Path | None = None,
    log: audit.AuditLog | None = None,
    policy: LockoutPolicy | None = None,
) -> AuthResult:
    """Check a username and password at ``now``, record the attempt, and say who it is.

    The files and the policy default to the settings (``SMHP_USERS_FILE``,
    ``SMHP_AUDIT_DB``, ``SMHP_LOCKOUT_*``). Every path costs one argon2 verification
    (a dummy one for an unknown user or a locked account), so the time taken does not
    reveal which usernames exist. If the audit log cannot be written, this raises and
    nobody signs in: an unrecorded sign-in to health data is not acceptable.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("use a timezone-aware datetime, e.g. datetime.now(UTC)")
    if users_file is None or log is None or policy is None:
        settings = Settings.from_env()
        users_file = users_file or settings.users_file
        log = log or audit.AuditLog(settings.audit_db)
        policy = policy or LockoutPolicy.from_settings(settings)
    name = normalise_username(username)
    entry = load_users(users_file).get(name)
    if entry is None:
        burn_verification_time(password)
        # The attempted name is not stored: people type their password into it.
        log.record(audit.SIGN_IN_FAILED, None, {"reason": "unknown user"}, at=now)
        return AuthResult("failure")
    until = lock_state(name, now, log, policy)
    if until is not None:
        burn_verification_time(password)
        log.record(audit.SIGN_IN_LOCKED, name, {"locked_until": until.isoformat()}, at=now)
        return AuthResult("locked", entry.user, until)
    if verify_password(entry.password_hash, password):
        log.record(audit.SIGN_IN, name, {"method": "password", "role": entry.user.role}, at=now)
        return AuthResult("success", entry.user)
    log.record(audit.SIGN_IN_FAILED, name, {"reason": "wrong password"}, at=now)
    until = lock_state(name, now, log, policy)
    return AuthResult("locked" if until else "failure", entry.user, until)


# --- the demo ---------------------------------------------------------------------------

#: Demo-only accounts with fixed, published passwords: for ``smhp demo`` on synthetic
#: data, never for a real deployment (their passwords are in this source file).
DEMO_USERS: tuple[tuple[str, str, tuple[str, ...] | None, str], ...] = (
    ("board", BOARD, None, "Partnership board (demo)"),
    ("manager_uol", SERVICE_MANAGER, ("UOL",), "Service manager, UOL (demo)"),
    ("manager_hope_lipa", SERVICE_MANAGER, ("HOPE", "LIPA"), "Service manager, HOPE+LIPA (demo)"),
    ("funder", FUNDER, None, "Funder (demo)"),
    ("admin", ADMIN, None, "Administrator (demo)"),
)


def demo_password(username: str) -> str:
    """The fixed demo password of a demo user: says what it is, so no one reuses it."""
    return f"demo-only-{username}"


def create_demo_users(path: Path) -> list[tuple[str, str, str, tuple[str, ...] | None]]:
    """Write (or overwrite) the demo users into ``path``; return
    ``(username, password, role, institutions)`` for the demo to print."""
    created = []
    stamp = _now_text(None)
    with _editing(path) as users:
        for username, role, institutions, display in DEMO_USERS:
            password = demo_password(username)
            user = User(username, role, check_grant(role, institutions), display_name=display)
            users[username] = StoredUser(user, hash_password(password), stamp, stamp)
            created.append((username, password, role, institutions))
    return created
