"""``smhp alerts [--dry-run] [--warehouse FILE]``: the alerts of the published warehouse now.

The nightly run evaluates the alerts by itself after every run (``smhp.alerts.nightly``);
this command is for an operator: ``--dry-run`` prints every message that would be sent
(recipient, subject, body) and sends and remembers nothing, e.g. after changing
``config/alerts.toml``; without it, it sends what is new, as the nightly run would.

Exit codes: 0 done, 1 a message not delivered (recorded in the audit log, tried again next
time) or no published warehouse, 2 the alerts file or a setting is wrong.
"""

from __future__ import annotations

import argparse
import sys

from smhp.settings import Settings, SettingsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def cmd_alerts(args: argparse.Namespace) -> int:
    from smhp.alerts.nightly import run_alerts
    from smhp.alerts.rules import AlertConfigError

    settings = Settings.from_env(warehouse=args.warehouse)
    try:
        report = run_alerts(settings, dry_run=args.dry_run)
    except (AlertConfigError, SettingsError) as exc:
        print(f"smhp alerts: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.dry_run:
        for item in report.outgoing:
            print(f"To: {item.message['To']}  ({item.recipient.describe})")
            print(f"Subject: {item.message['Subject']}")
            print()
            print(item.message.get_content().rstrip())
            print("=" * 72)
        print(f"{report.summary} (dry run: nothing sent, nothing remembered)")
        return EXIT_OK
    print(report.summary, file=sys.stderr if report.failed else sys.stdout)
    return EXIT_FAILED if report.failed else EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``alerts`` command to the ``smhp`` parser's sub-commands."""
    p = subparsers.add_parser(
        "alerts",
        help="evaluate the alerts of the published warehouse; send what is new",
        description="The signals of the published warehouse (SPC concerns, missed standards, "
        "stale sources, runs not published) told once to their recipients, from "
        "$SMHP_ALERTS_CONFIG (docs/operations.md).",
    )
    p.add_argument("--warehouse", help="published DuckDB file (default: $SMHP_WAREHOUSE)")
    p.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing")
    p.set_defaults(func=cmd_alerts)
