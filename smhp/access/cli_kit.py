"""What the administration commands (``smhp users``, ``smhp audit``) share: who is running
them, for the audit log, and their sub-commands with the ``--audit-db`` option, so that both
name the operator and find the log the same way.
"""

from __future__ import annotations

import argparse
import getpass
import os

AUDIT_DB_HELP = "audit log (default: $SMHP_AUDIT_DB or var/audit.sqlite3)"


def operator() -> str:
    """The OS account running the command: who made the change, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def subcommands(
    parser: argparse.ArgumentParser, dest: str
) -> tuple[argparse._SubParsersAction, argparse.ArgumentParser]:
    """The sub-commands of an administration command (one required, named in ``dest``),
    and the parent parser of the options they share: ``--audit-db`` (read by
    ``Settings.from_env(audit_db=...)``), to which the command adds its own."""
    commands = parser.add_subparsers(dest=dest, required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--audit-db", help=AUDIT_DB_HELP)
    return commands, common
