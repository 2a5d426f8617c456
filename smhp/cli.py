"""The ``smhp`` command: nightly runs, status, impact totals, demo data and the dashboard.

Exit codes (documented in the README): 0 done (``nightly``: published clean), 1 failed
(``nightly``: crashed, nothing published), 2 a usage or settings error, 3 ``nightly``
published with warnings, 4 ``nightly`` blocked by a failed check (nothing published).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from smhp.exiting import exit_now
from smhp.settings import DASHBOARD_APP, Settings, SettingsError

if TYPE_CHECKING:  # the demo is imported only by the commands that use it
    from smhp.demo import Timeline

#: Files smhp creates are 0640, folders 0750 (snapshots, logs, history, demo files and the
#: dashboard's child process): never readable by other accounts on the machine.
UMASK = 0o027

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WARNINGS, EXIT_BLOCKED = 0, 1, 2, 3, 4


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        landing=getattr(args, "landing", None),
        warehouse=getattr(args, "warehouse", None),
        dashboard_port=getattr(args, "port", None),
    )


def cmd_nightly(args: argparse.Namespace) -> int:
    from smhp.pipeline.history import BLOCKED, PUBLISHED, PUBLISHED_WITH_WARNINGS
    from smhp.pipeline.keys import load_key
    from smhp.pipeline.nightly import run_nightly
    from smhp.pipeline.publish import RunInProgress
    from smhp.pipeline.reporter import Reporter

    settings = _settings(args)
    key = load_key()
    reporter = Reporter()
    try:
        result = run_nightly(
            settings, key, reporter, rotate_key=args.rotate_key, full_refresh=args.full_refresh
        )
    except SettingsError:  # the key or a setting: exit 2 with its one line (main)
        raise
    except RunInProgress as exc:
        print(f"smhp nightly: NOT PUBLISHED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the one line a person on call needs; the log has the rest
        print(f"smhp nightly: NOT PUBLISHED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    codes = {PUBLISHED: EXIT_OK, PUBLISHED_WITH_WARNINGS: EXIT_WARNINGS, BLOCKED: EXIT_BLOCKED}
    return codes.get(result.outcome, EXIT_FAILED)


def cmd_keygen(args: argparse.Namespace) -> int:
    """Write a new random pseudonymisation key; show its fingerprint, never the key."""
    from smhp.pipeline.keys import write_key_file

    out = Path(args.out)
    try:
        fingerprint = write_key_file(out)
    except FileExistsError:
        print(
            f"smhp keygen: {out} exists: refusing to overwrite a key (the data it pseudonymised "
            "would no longer match). Choose another path.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"Key written to {out} (mode 0600). Its fingerprint: {fingerprint}")
    print(f"Use it with SMHP_PSEUDONYM_KEY_FILE={os.path.abspath(out)}; keep a copy in a safe.")
    return EXIT_OK


def cmd_retention(args: argparse.Namespace) -> int:
    from smhp.pipeline.retention import run_retention

    return run_retention(_settings(args), dry_run=args.dry_run)


def cmd_status(args: argparse.Namespace) -> int:
    from smhp.reporting.status import print_status

    print_status(_settings(args).warehouse, runs=args.runs)
    return EXIT_OK


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def cmd_impact(args: argparse.Namespace) -> int:
    """Impact totals: exact for the board, or ``--disclosed`` for anything leaving it."""
    from smhp.reporting.disclosure import apply_to_impact
    from smhp.reporting.impact import impact_totals
    from smhp.reporting.release_periods import check_release, of_range, parse
    from smhp.reporting.released import exact_figures
    from smhp.warehouse import open_published

    if args.period is not None:
        try:
            period = parse(args.period)
        except ValueError as exc:
            print(f"smhp impact: {exc}", file=sys.stderr)
            return EXIT_USAGE
        start, end = period.start, period.end
    elif args.from_ is None or args.to is None:
        print("smhp impact: give --period, or --from and --to", file=sys.stderr)
        return EXIT_USAGE
    else:
        start, end = args.from_, args.to
    if end < start:
        print("smhp impact: --to is before --from", file=sys.stderr)
        return EXIT_USAGE
    if args.disclosed:
        try:  # disclosed figures are released for fixed periods only, never a free range
            period = of_range(start, end)
            check_release(period, args.institution)
        except ValueError as exc:
            print(f"smhp impact: {exc}", file=sys.stderr)
            return EXIT_USAGE
    warehouse = _settings(args).warehouse
    con = open_published(warehouse)
    try:
        totals = impact_totals(con, start, end, args.institution)
    finally:
        con.close()
    if args.disclosed:  # the same cell functions as the funder page: the same figures
        data = apply_to_impact(totals, exact_figures(warehouse, period, args.institution))
    else:
        data = totals.to_dict()
    if args.json:
        print(json.dumps(data))
        return EXIT_OK
    width = max(map(len, data))
    for name, value in data.items():
        shown = f"{value:.1f}" if isinstance(value, float) else ("—" if value is None else value)
        print(f"{name:<{width}}  {shown}")
    return EXIT_OK


def _demo_timeline(end: date | None) -> Timeline:
    """The demo's last night: ``--end``, or yesterday so that a fresh demo is current; one
    before ``smhp.demo.EARLIEST_END`` is a usage error."""
    from smhp.demo import Timeline, default_end

    try:
        return Timeline(end or default_end())
    except ValueError as exc:
        raise SettingsError(f"--end: {exc}") from None


def cmd_demo_data(args: argparse.Namespace) -> int:
    from smhp.demo import write_demo_extracts, write_scaled_seeds

    if args.scale < 1 or (args.scale > 1 and args.seeds is None):
        print("smhp demo-data: --scale is 1 or more; above 1 it needs --seeds", file=sys.stderr)
        return EXIT_USAGE
    end = _demo_timeline(args.end).end
    if args.seeds is not None:
        write_scaled_seeds(Path(args.seeds), args.scale)
    try:
        summary = write_demo_extracts(
            Path(args.out), end=end, arrived_by=args.arrived_by, scale=args.scale
        )
    except ValueError as exc:  # a scale beyond the NHS numbers of the test range
        print(f"smhp demo-data: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(summary)
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace) -> int:
    settings = _settings(args)
    return _serve_dashboard(settings)


def _serve_dashboard(settings: Settings) -> int:
    """Run the Streamlit app with the settings it reads, as absolute paths.

    The warehouse is passed as the published *link* (made absolute, never resolved): the
    app resolves it at every rerun, so a dashboard run as a service follows each night's
    new snapshot. Resolving it here would pin the first snapshot, which the nightly
    retention deletes after ``SMHP_KEEP_SNAPSHOTS`` runs.
    """
    env = dict(
        os.environ,
        SMHP_WAREHOUSE=os.path.abspath(settings.warehouse),
        SMHP_USERS_FILE=os.path.abspath(settings.users_file),
        SMHP_AUDIT_DB=os.path.abspath(settings.audit_db),
        SMHP_ACCESS_CONFIG=os.path.abspath(settings.access_config),
        # uvicorn (Streamlit's server) trusts X-Forwarded-For from these peers only: the
        # same ones as the app (SMHP_TRUSTED_PROXIES), so both see one client address.
        FORWARDED_ALLOW_IPS=",".join(str(p) for p in settings.trusted_proxies),
    )
    address = settings.dashboard_address
    shown = "localhost" if address in ("127.0.0.1", "::1", "localhost") else address
    print(f"Dashboard at http://{shown}:{settings.dashboard_port} (Ctrl+C to stop)", flush=True)
    # dashboard.server: Streamlit with its media route guarded (dashboard/downloads.py)
    command = [sys.executable, "-m", "dashboard.server", "run", str(DASHBOARD_APP)]
    for option, value in dashboard_server_options(settings).items():
        command += [f"--{option}", value]
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return EXIT_OK


def dashboard_server_options(settings: Settings) -> dict[str, str]:
    """The Streamlit server options of ``smhp dashboard``: safe for a real deployment.

    Bound to ``SMHP_DASHBOARD_ADDRESS`` (loopback by default: a reverse proxy terminates
    TLS in front of it, ``deploy/``); no error details or tracebacks in the browser; no
    data export from the table toolbar (every export goes through an audited download,
    ``dashboard.downloads``); no usage statistics; the agent API stays off.

    No full garbage collection after every script run (``runner.postScriptGC``, on by
    default): it walks every object of the process, every session's state and the cached
    tables and charts included, holding Python's lock, so the more sessions a process
    serves the longer each page switch of all of them waits. With 25 sessions on a process
    it was over half of the process's Python time and 0.1 s of CPU a page switch, five
    times the page's own script. Python's generational collector still runs as objects
    are made (``dashboard.server.freeze_the_startup_heap`` keeps the modules out of it).
    No watching of source files (``server.fileWatcherType``): after every script run
    Streamlit walked every imported module to watch its file for a reload that a served
    dashboard never wants (a new release restarts the processes), a fifth of the process's
    Python time under load.
    """
    return {
        "server.address": settings.dashboard_address,
        "server.port": str(settings.dashboard_port),
        "server.headless": "true",
        "server.enableAgentApi": "false",
        "browser.gatherUsageStats": "false",
        "client.toolbarMode": "viewer",
        "client.showErrorDetails": "none",
        "client.disableDataExport": "true",
        "runner.postScriptGC": "false",
        "server.fileWatcherType": "none",
    }


def cmd_demo(args: argparse.Namespace) -> int:
    """Synthetic extracts → two nightly runs (the last week arriving in the second) → dashboard."""
    from smhp.demo import write_demo_extracts
    from smhp.pipeline.addons import selected
    from smhp.pipeline.keys import demo_key, mark_demo_folder
    from smhp.pipeline.nightly import run_nightly
    from smhp.pipeline.reporter import Reporter

    timeline = _demo_timeline(args.end)
    if timeline.end > date.today():  # the nightly run rejects an extract dated in the future
        raise SettingsError(f"--end: {timeline.end} is after today")
    demo_dir = Path(args.dir)
    if demo_dir.exists():  # the demo always starts from nothing: it tells the same story
        shutil.rmtree(demo_dir)
    settings = Settings.from_env(  # everything of the demo lives in its folder
        landing=demo_dir / "landing",
        warehouse=demo_dir / "warehouse.duckdb",
        dashboard_port=args.port,
        users_file=demo_dir / "users.json",
        audit_db=demo_dir / "audit.sqlite3",
        alerts_outbox=demo_dir / "outbox",  # the alerts as .eml files (the admin page)
    )
    mark_demo_folder(demo_dir)  # the public demo key works here and nowhere else
    reporter = Reporter()
    addons = selected(settings.addons)
    nights = (timeline.first_load, timeline.end)
    for arrived_by in nights:
        reporter.line(f"== demo: extracts arrived by {arrived_by} ==")
        write_demo_extracts(settings.landing, end=timeline.end, arrived_by=arrived_by)
        if arrived_by != nights[-1]:  # the packs of the demo are those of its latest data
            tonight = tuple(addon for addon in addons if addon[0] != "packs")
        else:
            tonight = addons
        result = run_nightly(settings, demo_key(), reporter, addons=tonight)
        if not result.published:
            return EXIT_FAILED
    reporter.line(f"Demo warehouse: {settings.warehouse}")
    _print_demo_users(settings)
    if args.no_dashboard:
        return EXIT_OK
    return _serve_dashboard(settings)


def _print_demo_users(settings: Settings) -> None:
    """Create the demo's users, one per role, and show how to sign in as each."""
    from smhp.access.users import create_demo_users

    users = create_demo_users(settings.users_file)
    print("\nDemo sign-ins (demo only; the dashboard asks for one of these):", flush=True)
    for username, password, role, institutions in users:
        where = ", ".join(institutions or ()) or ("no data" if role == "admin" else "all")
        print(f"  {username:<18} {password:<30} {role} ({where})", flush=True)


def _add_demo_end(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--end",
        type=_parse_date,
        metavar="DATE",
        help="the demo's last night (default: yesterday; the same end gives the same data)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smhp", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("nightly", help="load new extracts, build the metrics, publish")
    p.add_argument("--landing", help="landing folder (default: $SMHP_LANDING or var/landing)")
    p.add_argument("--warehouse", help="published DuckDB file (default: $SMHP_WAREHOUSE)")
    p.add_argument(
        "--rotate-key",
        action="store_true",
        help="full reload with a new key from every retained extract (docs/operations.md)",
    )
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the marts and rerun every check even when no extract is new",
    )
    p.set_defaults(func=cmd_nightly)

    p = sub.add_parser("keygen", help="write a new random pseudonymisation key file (0600)")
    p.add_argument("--out", required=True, help="the key file to create (never overwritten)")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("retention", help="remove processed landing files, old logs, snapshots")
    p.add_argument("--landing", help="landing folder (default: $SMHP_LANDING or var/landing)")
    p.add_argument("--warehouse", help="published DuckDB file (default: $SMHP_WAREHOUSE)")
    p.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    p.set_defaults(func=cmd_retention)

    p = sub.add_parser("status", help="latest runs, their outcome, source freshness")
    p.add_argument("--warehouse", help="published DuckDB file (default: $SMHP_WAREHOUSE)")
    p.add_argument("--runs", type=int, default=10, help="how many runs to list (default 10)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("impact", help="impact totals of the metric spec for a period")
    p.add_argument("--warehouse", help="published DuckDB file (default: $SMHP_WAREHOUSE)")
    p.add_argument("--from", dest="from_", type=_parse_date, metavar="DATE")
    p.add_argument("--to", type=_parse_date, metavar="DATE")
    p.add_argument(
        "--period",
        help="a release period instead of --from/--to: 2021-03, 2021-Q2, 2020/21, funded",
    )
    p.add_argument("--institution", help="an institution code (default: the whole partnership)")
    p.add_argument(
        "--disclosed",
        action="store_true",
        help="through disclosure control, for anything leaving the board (release periods only)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_impact)

    p = sub.add_parser("demo-data", help="write deterministic synthetic nightly extracts")
    p.add_argument("--out", required=True, help="landing folder to write")
    p.add_argument("--arrived-by", type=_parse_date, help="only what had arrived by this night")
    p.add_argument(
        "--scale", type=int, default=1, help="N: the city and N-1 renamed copies (45: national)"
    )
    p.add_argument("--seeds", help="seeds folder to write for --scale (set SMHP_SEEDS_DIR to it)")
    _add_demo_end(p)
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("dashboard", help="serve the dashboard")
    p.add_argument("--warehouse", help="published DuckDB file (default: $SMHP_WAREHOUSE)")
    p.add_argument("--port", type=int, help="port (default: $SMHP_DASHBOARD_PORT or 8501)")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("demo", help="demo data → nightly → dashboard, from scratch")
    p.add_argument("--dir", default="var/demo", help="demo folder, wiped first (default: var/demo)")
    p.add_argument("--port", type=int, help="dashboard port (default: 8501)")
    p.add_argument("--no-dashboard", action="store_true", help="stop after publishing")
    _add_demo_end(p)
    p.set_defaults(func=cmd_demo)

    from smhp.access.audit_cli import register as register_audit
    from smhp.access.users_cli import register as register_users
    from smhp.alerts.cli import register as register_alerts
    from smhp.packs.cli import register as register_packs

    register_users(sub)
    register_audit(sub)
    register_alerts(sub)
    register_packs(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(UMASK)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"smhp {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as exc:
        print(f"smhp {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def run() -> NoReturn:
    """The ``smhp`` command itself (``[project.scripts]``): :func:`main`, then an exit
    without the interpreter's teardown (``smhp.exiting``). Tests call :func:`main`."""
    exit_now(main())


if __name__ == "__main__":
    run()
