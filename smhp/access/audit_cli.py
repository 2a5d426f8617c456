"""``smhp audit``: keygen, seal, verify and prune the audit log (``smhp.access.audit_seal``).

These run as the nightly/CLI account, the only one that can read the audit key
(``SMHP_AUDIT_KEY_FILE``); the dashboard appends rows and never needs it (docs/audit.md).

Exit codes: 0 done (``verify``: intact); 1 failed (``verify``: the log, a seal or an anchor
is broken: the last line names the first break; ``prune``: the log does not verify, so
nothing was removed); 2 usage, or no usable audit key (``verify`` without the key still
checks everything but the seals' MACs, and says so: 2 if that passed, 1 if it did not).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smhp.access import audit_seal
from smhp.access.cli_kit import operator, subcommands
from smhp.pipeline.keys import fingerprint
from smhp.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_NO_KEY = 0, 1, 2


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        audit_db=args.audit_db, audit_key_file=args.key_file, audit_anchor_file=args.anchor_file
    )


def cmd_keygen(args: argparse.Namespace) -> int:
    path = Path(args.out)
    try:
        fingerprint = audit_seal.create_key_file(path)
    except FileExistsError:
        print(f"smhp audit keygen: {path} exists: refusing to overwrite a key", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"audit key written to {path} (mode 0600, fingerprint {fingerprint}). Give it to the "
        f"nightly/CLI account only (SMHP_AUDIT_KEY_FILE={path}), never to the dashboard's."
    )
    return EXIT_OK


def cmd_seal(args: argparse.Namespace) -> int:
    settings = _settings(args)
    key = audit_seal.load_key(settings.audit_key_file)
    seal = audit_seal.seal(settings.audit_db, key, settings.audit_anchor_file)
    print(
        f"sealed: seal {seal.id} covers rows {seal.from_id}–{seal.upto_id} "
        f"(head {seal.head_hash[:16]}…); anchored in {settings.audit_anchor_file}"
    )
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        key: bytes | None = audit_seal.load_key(settings.audit_key_file)
        missing_key = None
    except audit_seal.AuditKeyError as exc:
        key, missing_key = None, str(exc)
    result = audit_seal.verify(settings.audit_db, key, settings.audit_anchor_file)
    for line in result.notes:
        print(line)
    if key is not None:  # which key checked the MACs (the fingerprint keygen printed)
        print(f"audit key fingerprint: {fingerprint(key)}")
    for problem in result.problems:
        print(f"BREAK {problem}")
    if result.unsealed:
        print(f"{result.unsealed} row(s) not yet sealed (the next `smhp audit seal` seals them)")
    if not result.intact:
        more = len(result.problems) - 1
        print(f"BROKEN: {result.problems[0]}" + (f" (and {more} more)" if more else ""))
        return EXIT_FAILED
    if missing_key:
        print(
            "NOT VERIFIED: the rows, seal chain and anchors agree, but the seals' MACs were "
            f"not checked: {missing_key}"
        )
        return EXIT_NO_KEY
    print("INTACT")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    settings = _settings(args)
    key = audit_seal.load_key(settings.audit_key_file)
    days = settings.audit_retention_days
    try:
        plan, seal = audit_seal.prune(
            settings.audit_db,
            key,
            settings.audit_anchor_file,
            days,
            operator(),
            dry_run=args.dry_run,
        )
    except audit_seal.AuditBroken as exc:
        print(f"smhp audit prune: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if plan is None:
        print(f"nothing to prune: no sealed rows older than {days} days")
        return EXIT_OK
    what = (
        f"{plan.rows} row(s), ids {plan.from_id}–{plan.upto_id} (the newest written "
        f"{plan.upto_at}, sealed by seal {plan.seal_id}), older than {days} days"
    )
    if seal is None:
        print(f"would remove {what} (dry run: nothing removed)")
    else:
        print(f"removed {what}; recorded as an audit_pruned event and sealed by seal {seal.id}")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``audit`` command to the ``smhp`` parser's sub-commands."""
    audit = subparsers.add_parser(
        "audit",
        help="the audit log: keygen, seal, verify, prune",
        description="Keyed seals over the audit log, anchored outside it (docs/audit.md). "
        "Run as the nightly/CLI account: it alone reads the audit key.",
    )
    commands, common = subcommands(audit, "audit_command")
    common.add_argument("--key-file", help="audit key file (default: $SMHP_AUDIT_KEY_FILE)")
    common.add_argument(
        "--anchor-file",
        help="anchor file (default: $SMHP_AUDIT_ANCHOR_FILE or var/audit-anchors.log)",
    )

    p = commands.add_parser("keygen", help="write a new audit key file (0600, never over one)")
    p.add_argument("--out", required=True, metavar="FILE", help="the key file to create")
    p.set_defaults(func=cmd_keygen)

    p = commands.add_parser("seal", parents=[common], help="seal the log as it stands; anchor")
    p.set_defaults(func=cmd_seal)

    p = commands.add_parser(
        "verify", parents=[common], help="check rows, seals and anchors; name the first break"
    )
    p.set_defaults(func=cmd_verify)

    p = commands.add_parser(
        "prune",
        parents=[common],
        help="remove sealed rows older than $SMHP_AUDIT_RETENTION_DAYS (default 2190)",
    )
    p.add_argument("--dry-run", action="store_true", help="say what would go; remove nothing")
    p.set_defaults(func=cmd_prune)
