"""Local sign-in: the users file, password and second-factor checks, and the demo users.

The embedded default for a deployment without single sign-on (and the demo). The file
(``SMHP_USERS_FILE``, default ``var/users.json``) holds per user: username, role,
institutions (service managers), optional display name and email, an argon2id hash —
never a password — and, with a second factor, its TOTP secret and the last time step
used. It is written atomically (temporary file, fsync, rename) with mode 0600 under a
lock, so a crash or two admins at once cannot leave it half-written.
``authenticate`` is what the login form calls: it records every attempt in the audit
log *before* checking the password (``smhp.access.throttle``), and the audit log is also
where the lock-out and the other sign-in limits live.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from smhp.access import audit, throttle, totp
from smhp.access.lockout import LockoutPolicy
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
    totp: bool = False  # whether sign-in asks for a code (the secret is never here)

    @property
    def access(self) -> Access:
        """What this user may see (``smhp.access.scope_for`` / ``pages_for`` take it)."""
        return Access(self.role, self.institutions, self.username)


@dataclass(frozen=True)
class StoredUser:
    """A user with their hash, dates and second factor, as kept in the file."""

    user: User
    password_hash: str
    created_at: str
    password_changed_at: str
    totp_secret: str | None = None
    totp_last_step: int | None = None  # the time step of the last code accepted


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
    data = {
        "username": user.username,
        "role": user.role,
        "institutions": list(user.institutions) if user.institutions is not None else None,
        "display_name": user.display_name,
        "email": user.email,
        "password_hash": entry.password_hash,
        "created_at": entry.created_at,
        "password_changed_at": entry.password_changed_at,
    }
    if entry.totp_secret is not None:
        data.update(totp_secret=entry.totp_secret, totp_last_step=entry.totp_last_step)
    return data


def _from_json(data: dict[str, Any]) -> StoredUser:
    institutions = data.get("institutions")
    user = User(
        username=str(data["username"]),
        role=str(data["role"]),
        institutions=tuple(institutions) if institutions is not None else None,
        display_name=data.get("display_name"),
        email=data.get("email"),
        totp=data.get("totp_secret") is not None,
    )
    return StoredUser(
        user,
        str(data["password_hash"]),
        data["created_at"],
        data["password_changed_at"],
        data.get("totp_secret"),
        data.get("totp_last_step"),
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
    """Load, let the caller change, and save ``path`` under an exclusive lock (saved
    only if something changed, and not at all if the caller raises)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        users = load_users(path)
        before = dict(users)
        yield users
        if users != before:
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


def enable_totp(path: Path, username: str) -> tuple[str, str]:
    """Give ``username`` a new second-factor secret; ``(secret, otpauth URI)`` to show
    the user once. ``UserError`` if there is no such user or it has one already (disable
    it first: replacing a secret silently would lock out the phone that holds it)."""
    name = normalise_username(username)
    with _editing(path) as users:
        entry = users.get(name)
        if entry is None:
            raise UserError(f"no user {name}")
        if entry.totp_secret is not None:
            raise UserError(f"{name} already has a second factor (totp-disable it first)")
        secret = totp.new_secret()
        users[name] = replace(
            entry, user=replace(entry.user, totp=True), totp_secret=secret, totp_last_step=None
        )
    return secret, totp.provisioning_uri(secret, name)


def disable_totp(path: Path, username: str) -> None:
    """Remove ``username``'s second factor (a lost phone); ``UserError`` if it has none."""
    name = normalise_username(username)
    with _editing(path) as users:
        entry = users.get(name)
        if entry is None:
            raise UserError(f"no user {name}")
        if entry.totp_secret is None:
            raise UserError(f"{name} has no second factor")
        users[name] = replace(
            entry, user=replace(entry.user, totp=False), totp_secret=None, totp_last_step=None
        )


def _use_code(path: Path, username: str, code: str, now: datetime) -> totp.Check:
    """Check ``username``'s verification code and, if accepted, remember its time step,
    as one step under the users file's lock: two sign-ins with the same code at once
    cannot both pass."""
    with _editing(path) as users:
        entry = users.get(username)
        if entry is None or entry.totp_secret is None:
            return "wrong"
        result, step = totp.check_code(entry.totp_secret, code, now, entry.totp_last_step)
        if result == "accepted":
            users[username] = replace(entry, totp_last_step=step)
    return result


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

AuthStatus = Literal["success", "failure", "locked", "throttled"]


@dataclass(frozen=True)
class AuthResult:
    """The outcome of one sign-in attempt.

    Show the viewer the same message for every status but ``success`` (and for an
    unknown username, which is a ``failure``): telling them apart would tell an attacker
    which usernames exist or have a second factor. ``locked`` means the account is locked
    out for this client address; ``throttled`` that a per-address or overall limit, or
    the bound on password checks at once, refused the attempt before any check.
    ``locked_until`` is for the admin page and the audit log.
    """

    status: AuthStatus
    user: User | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the viewer is signed in."""
        return self.status == "success"


def lock_state(
    username: str,
    now: datetime,
    log: audit.AuditLog,
    policy: LockoutPolicy,
    address: str | None = throttle.ANY_ADDRESS,
) -> datetime | None:
    """When ``username``'s lock-out from client ``address`` ends (by default: the latest
    end over every address it is locked out from), or ``None`` if not locked out."""
    return throttle.lock_state(log, normalise_username(username), now, policy, address)


_CODE_REASONS = {
    "missing": "no verification code",
    "wrong": "wrong verification code",
    "reused": "verification code already used",
}


def _second_factor(
    users_file: Path, entry: StoredUser, code: str, now: datetime, required: Collection[str]
) -> str | None:
    """``None`` if the second factor is satisfied, else the reason for the audit log."""
    user = entry.user
    if entry.totp_secret is None:
        if user.role in required:
            return (
                f"no second factor, which SMHP_TOTP_REQUIRED_ROLES requires of the {user.role} "
                f"role: smhp users totp-enable {user.username}"
            )
        return None
    result = _use_code(users_file, user.username, code, now)
    return None if result == "accepted" else _CODE_REASONS[result]


def _checked(password: str, entry: StoredUser | None) -> Callable[[], bool]:
    """The argon2 check of ``password`` (a dummy one, always false, for no account)."""
    if entry is None:
        return lambda: burn_verification_time(password) or False
    return lambda: verify_password(entry.password_hash, password)


def authenticate(
    username: str,
    password: str,
    now: datetime,
    *,
    users_file: Path | None = None,
    log: audit.AuditLog | None = None,
    policy: LockoutPolicy | None = None,
    address: str | None = None,
    code: str = "",
    totp_required: Collection[str] | None = None,
) -> AuthResult:
    """Check a sign-in at ``now`` from client ``address``, record it, say who it is.

    1. The attempt is admitted or refused and recorded in one audit-log transaction,
       before any check (``throttle.admit``): the account's lock-out for this address,
       the per-address and overall limits. A refusal checks nothing.
    2. The password is checked in one of ``policy.concurrency`` slots; none free means
       refused at once. An unknown username costs a dummy check like a wrong password,
       so the time taken does not tell which usernames exist.
    3. A user with a second factor must give a fresh ``code``; a user of a role in
       ``totp_required`` without one cannot sign in.
    4. The outcome is recorded, naming the attempt.

    The files and the policy default to the settings (``SMHP_USERS_FILE``,
    ``SMHP_AUDIT_DB``, ``SMHP_LOCKOUT_*``, ``SMHP_SIGNIN_*``, ``SMHP_TOTP_REQUIRED_ROLES``).
    If the audit log cannot be written, this raises and nobody signs in: an unrecorded
    sign-in to health data is not acceptable.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("use a timezone-aware datetime, e.g. datetime.now(UTC)")
    if users_file is None or log is None or policy is None or totp_required is None:
        settings = Settings.from_env()
        users_file = users_file or settings.users_file
        log = log or audit.AuditLog(settings.audit_db)
        policy = policy or LockoutPolicy.from_settings(settings)
        totp_required = settings.totp_required_roles if totp_required is None else totp_required
    entry = load_users(users_file).get(normalise_username(username))
    user = entry.user if entry else None
    # The typed name of an unknown user is not stored: people type passwords into it.
    admission = throttle.admit(log, user.username if user else None, address, now, policy)
    if admission.refused is not None:
        if admission.refused.reason == "locked":
            throttle.pause_like_a_check()
            return AuthResult("locked", user, admission.refused.until)
        return AuthResult("throttled", user, admission.refused.until)
    matched = throttle.run_check(_checked(password, entry), policy)
    if matched is None:
        details = {"reason": throttle.REASONS["busy"]}
        throttle.finish(log, admission, throttle.SIGN_IN_THROTTLED, details, now)
        return AuthResult("throttled", user)
    if entry is None or user is None:
        throttle.finish(log, admission, audit.SIGN_IN_FAILED, {"reason": "unknown user"}, now)
        return AuthResult("failure")
    reason = "wrong password" if not matched else None
    reason = reason or _second_factor(users_file, entry, code, now, totp_required)
    if reason is not None:
        throttle.finish(log, admission, audit.SIGN_IN_FAILED, {"reason": reason}, now)
        until = lock_state(user.username, now, log, policy, address)
        return AuthResult("locked" if until else "failure", user, until)
    method = "password+totp" if entry.totp_secret else "password"
    details = {"method": method, "role": user.role}
    throttle.finish(log, admission, audit.SIGN_IN, details, now)
    return AuthResult("success", user)


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
