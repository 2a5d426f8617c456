"""``smhp users``: add, remove, list users of the local sign-in, set passwords, unlock,
turn a second factor (TOTP) on or off.

A password never appears on the command line (it would sit in the shell history and in
``ps`` output for everyone on the machine): it is asked at a terminal prompt, twice, or
read from the first line of standard input with ``--password-stdin`` (for scripts:
``printf '%s\\n' "$PW" | smhp users add …``). Every change is recorded in the audit log
with the operating-system account that made it. ``totp-enable`` prints the new secret
once, on standard output only, for the user's authenticator app: it is never logged.

Exit codes: 0 done, 1 the operation failed (no such user, already exists, invalid
value, weak password), 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from smhp.access import audit, totp
from smhp.access.cli_kit import operator, subcommands
from smhp.access.lockout import LockoutPolicy
from smhp.access.roles import ROLES, grant_text
from smhp.access.users import (
    User,
    UserError,
    add_user,
    disable_totp,
    enable_totp,
    find_user,
    list_users,
    lock_state,
    normalise_username,
    remove_user,
    set_password,
)
from smhp.settings import Settings

EXIT_OK, EXIT_FAILED = 0, 1
T = TypeVar("T")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(users_file=args.users_file, audit_db=args.audit_db)


def _record(settings: Settings, event: str, username: str, **details: object) -> None:
    """Record a change in the audit log, with the OS account that made it (``by``)."""
    audit.AuditLog(settings.audit_db).record(event, username, {**details, "by": operator()})


def _change_user(
    args: argparse.Namespace, event: str, change: Callable[[Path, str], T]
) -> tuple[str, T]:
    """Apply ``change`` to the users file for the user named on the command line and record
    it as ``event`` in the audit log; the user's normalised name and what ``change`` gave.
    ``change`` raises ``UserError`` (no such user, ...) before anything is recorded."""
    settings = _settings(args)
    result = change(settings.users_file, args.username)
    name = normalise_username(args.username)
    _record(settings, event, name)
    return name, result


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password: pipe it in with --password-stdin")
    password = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != password:
        raise UserError("the two passwords differ; nothing changed")
    return password


def cmd_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    user = User(
        args.username,
        args.role,
        tuple(args.institution) or None,
        display_name=args.display_name,
        email=args.email,
    )
    user = add_user(settings.users_file, user, _read_password(args))
    _record(
        settings, audit.USER_ADDED, user.username, role=user.role, institutions=user.institutions
    )
    print(f"added {user.username} ({grant_text(user.role, user.institutions)})")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    name, _ = _change_user(args, audit.USER_REMOVED, remove_user)
    print(f"removed {name}")
    return EXIT_OK


def cmd_set_password(args: argparse.Namespace) -> int:
    if find_user(_settings(args).users_file, args.username) is None:  # before the prompt
        raise UserError(f"no user {args.username}")
    name, _ = _change_user(
        args,
        audit.PASSWORD_SET,
        lambda path, username: set_password(path, username, _read_password(args)),
    )
    print(f"password set for {name}")
    return EXIT_OK


def cmd_unlock(args: argparse.Namespace) -> int:
    settings = _settings(args)
    user = find_user(settings.users_file, args.username)
    if user is None:
        raise UserError(f"no user {args.username}")
    _record(settings, audit.USER_UNLOCKED, user.username)
    print(f"unlocked {user.username}")
    return EXIT_OK


def cmd_totp_enable(args: argparse.Namespace) -> int:
    name, (secret, uri) = _change_user(args, totp.TOTP_ENABLED, enable_totp)
    print(f"second factor enabled for {name}: from now on sign-in asks for a verification code.")
    print("Give the user this, once, for their authenticator app (a QR code of the URI, or")
    print("the secret typed in), then clear your screen; it is not shown again:")
    print(f"  {uri}")
    print(f"  secret: {secret}")
    return EXIT_OK


def cmd_totp_disable(args: argparse.Namespace) -> int:
    name, _ = _change_user(args, totp.TOTP_DISABLED, disable_totp)
    print(f"second factor removed for {name}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    users = list_users(settings.users_file)
    if not users:
        print(f"no users in {settings.users_file}")
        return EXIT_OK
    if settings.users_file.stat().st_mode & 0o077:
        print(
            f"warning: {settings.users_file} is readable by others: chmod 600 it",
            file=sys.stderr,
        )
    log = audit.AuditLog(settings.audit_db)
    policy = LockoutPolicy.from_settings(settings)
    now = datetime.now(UTC)
    rows = [("username", "role", "institutions", "name", "email", "2fa", "state")]
    for user in users:
        until = lock_state(user.username, now, log, policy)
        state = f"locked until {until:%Y-%m-%d %H:%M} UTC (an address)" if until else "active"
        rows.append(
            (
                user.username,
                user.role,
                ",".join(user.institutions or ()) or "-",
                user.display_name or "-",
                user.email or "-",
                "totp" if user.totp else "-",
                state,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return EXIT_OK


Command = Callable[[argparse.Namespace], int]


def _run(func: Command) -> Command:
    """Wrap a sub-command so a ``UserError`` is one line on stderr and exit code 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except UserError as exc:
            print(f"smhp users {args.users_command}: {exc}", file=sys.stderr)
            return EXIT_FAILED

    return run


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``users`` command to the ``smhp`` parser's sub-commands."""
    users = subparsers.add_parser(
        "users",
        help="local sign-in users: add, remove, list, set-password, unlock, totp-enable",
        description="Users of the local sign-in (the users file): add, remove, list, "
        "set-password, unlock, totp-enable, totp-disable. Passwords are prompted for or "
        "read with --password-stdin.",
    )
    commands, common = subcommands(users, "users_command")
    common.add_argument(
        "--users-file", help="users file (default: $SMHP_USERS_FILE or var/users.json)"
    )
    password = argparse.ArgumentParser(add_help=False)
    password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (no prompt)",
    )

    p = commands.add_parser("add", parents=[common, password], help="add a user")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument(
        "--institution",
        action="append",
        default=[],
        metavar="CODE",
        help="an institution of a service_manager (repeat for several)",
    )
    p.add_argument("--display-name", help="name shown in the dashboard")
    p.add_argument("--email", help="contact email")
    p.set_defaults(func=_run(cmd_add))

    p = commands.add_parser("remove", parents=[common], help="remove a user")
    p.add_argument("username")
    p.set_defaults(func=_run(cmd_remove))

    p = commands.add_parser("list", parents=[common], help="list users (never their hashes)")
    p.set_defaults(func=_run(cmd_list))

    p = commands.add_parser(
        "set-password", parents=[common, password], help="set a user's password"
    )
    p.add_argument("username")
    p.set_defaults(func=_run(cmd_set_password))

    p = commands.add_parser("unlock", parents=[common], help="end a user's lock-out now")
    p.add_argument("username")
    p.set_defaults(func=_run(cmd_unlock))

    p = commands.add_parser(
        "totp-enable",
        parents=[common],
        help="give a user a second factor: prints the authenticator secret once",
    )
    p.add_argument("username")
    p.set_defaults(func=_run(cmd_totp_enable))

    p = commands.add_parser(
        "totp-disable", parents=[common], help="remove a user's second factor (a lost phone)"
    )
    p.add_argument("username")
    p.set_defaults(func=_run(cmd_totp_disable))
