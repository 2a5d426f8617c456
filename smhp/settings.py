"""Every setting of smhp, in one place.

Each setting is an environment variable with a default that suits the demo on a
developer's machine; command-line options override them. Paths are relative to the
directory the command runs in (the README runs everything from the repo root).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PIPELINE_DIR = REPO_ROOT / "pipeline"
DASHBOARD_APP = REPO_ROOT / "dashboard" / "app.py"

#: The environment variables, with their defaults (documented in the README).
DEFAULTS = {
    "SMHP_LANDING": "var/landing",
    "SMHP_WAREHOUSE": "var/warehouse.duckdb",
    "SMHP_KEEP_SNAPSHOTS": "3",
    "SMHP_DASHBOARD_PORT": "8501",
    # Loopback only: in production a reverse proxy (deploy/) terminates TLS in front.
    "SMHP_DASHBOARD_ADDRESS": "127.0.0.1",
    "SMHP_EXPECTATIONS_DIR": str(REPO_ROOT / "expectations"),
    # The seeds (code lists, institutions, populations, the metric catalogue): read by the
    # contract, roles, the catalogue, the build fingerprint and dbt (seed-paths). Another
    # folder serves a scaled demo (`smhp demo-data --scale N --seeds DIR`).
    "SMHP_SEEDS_DIR": str(REPO_ROOT / "seeds"),
    # Sign-in and access (docs/access.md). The users file and the audit log hold personal
    # data of staff: keep them outside the published warehouse, readable by the app only.
    "SMHP_USERS_FILE": "var/users.json",
    "SMHP_AUDIT_DB": "var/audit.sqlite3",
    # Keyed seals of the audit log (docs/audit.md): the key file belongs to the nightly/CLI
    # account only, never the dashboard's; empty = no seals. Six years' retention: see there.
    "SMHP_AUDIT_KEY_FILE": "",
    "SMHP_AUDIT_ANCHOR_FILE": "var/audit-anchors.log",
    "SMHP_AUDIT_RETENTION_DAYS": "2190",
    "SMHP_ACCESS_CONFIG": "config/access.toml",
    "SMHP_LOCKOUT_FAILURES": "5",
    "SMHP_LOCKOUT_MINUTES": "15",
    # Sign-in limits (docs/access.md): argon2 checks at once, failures per client address
    # per SMHP_LOCKOUT_MINUTES, attempts per minute in all; whose X-Forwarded-For is
    # believed; roles that must use a second factor (recommended: admin,board).
    "SMHP_SIGNIN_CONCURRENCY": "2",
    "SMHP_SIGNIN_ADDRESS_FAILURES": "20",
    "SMHP_SIGNIN_GLOBAL_PER_MINUTE": "60",
    "SMHP_TRUSTED_PROXIES": "127.0.0.1,::1",
    "SMHP_TOTP_REQUIRED_ROLES": "",
    "SMHP_SESSION_IDLE_MINUTES": "30",
    "SMHP_SESSION_MAX_HOURS": "8",
    # Retention (`smhp retention`, docs/operations.md): landing files hold raw NHS numbers.
    "SMHP_LANDING_RETENTION_DAYS": "30",
    "SMHP_LANDING_ARCHIVE": "",  # empty: delete landing files instead of archiving them
    "SMHP_LOG_RETENTION_DAYS": "90",
    # Where people report an accessibility problem (the dashboard's accessibility
    # statement, docs/accessibility.md): an email address or a web address. A placeholder
    # until set: every deployment sets its own.
    "SMHP_ACCESSIBILITY_CONTACT": "accessibility@example.org",
    # SPC charts (docs/dashboard.md): true = the Making Data Count Excel tool's variant,
    # limits without screening large moving ranges; false = NHSRplotthedots' default.
    "SMHP_SPC_EXCEL_VARIANT": "false",
    # What runs after each nightly run (smhp.pipeline.addons): the PDF packs and the alerts;
    # empty = neither. A failing add-on is recorded and never blocks publishing.
    "SMHP_ADDONS": "packs,alerts",
    # A warm pool of Great Expectations workers (smhp.pipeline.quality.pool) that nightly
    # runs ask instead of importing GX each (the test suite, benchmarks); empty = none.
    "SMHP_QUALITY_POOL": "",
    # dbt's threads (models built side by side): 4 builds the national scale about 20 %
    # faster on 2 cores; on small data dbt is bound by Python and 1 costs about 10 % less CPU
    # for the same time (the test suite, which runs three jobs on the two cores, sets 1).
    "SMHP_DBT_THREADS": "4",
    # Alerts after each nightly run (smhp.alerts, docs/operations.md): the rules and
    # recipients file; how messages leave (outbox: .eml files in SMHP_ALERTS_OUTBOX; smtp:
    # the SMHP_SMTP_* server, the password read from a file, never the environment); the
    # dashboard's address that messages link to.
    "SMHP_ALERTS_CONFIG": str(REPO_ROOT / "config" / "alerts.toml"),
    "SMHP_ALERTS_DELIVERY": "outbox",
    "SMHP_ALERTS_OUTBOX": "var/outbox",
    "SMHP_ALERTS_FROM": "smhp-alerts@example.org",
    "SMHP_SMTP_HOST": "",
    "SMHP_SMTP_PORT": "587",
    "SMHP_SMTP_STARTTLS": "true",
    "SMHP_SMTP_USERNAME": "",
    "SMHP_SMTP_PASSWORD_FILE": "",
    "SMHP_PUBLIC_URL": "http://localhost:8501",
}

DBT_DEFAULTS = {
    # dbt's file log (``dbt.log``): each node's start, result and time, and every error.
    # dbt's default, debug, also writes every SQL statement: about a second of CPU per
    # build, for a log few read (each node's SQL is in ``target/run`` anyway).
    "DBT_LOG_LEVEL_FILE": "info",
    # manifest.json and run_results.json: 0.5-0.9 s per build, and nothing reads them: the
    # run history (``ops.run_checks``) keeps every test's result, the log every node's time.
    "DBT_WRITE_JSON": "false",
}
"""dbt's own environment variables, with the values ``smhp.pipeline.dbt_build.build`` gives
them unless the environment sets them (``DBT_LOG_LEVEL_FILE=debug``, ``DBT_WRITE_JSON=true``
for dbt's defaults; README, settings)."""

ALERT_DELIVERIES = ("outbox", "smtp")
"""The values of ``SMHP_ALERTS_DELIVERY`` (``smhp.alerts.delivery``)."""

SEEDS_DIR = Path(os.environ.get("SMHP_SEEDS_DIR") or DEFAULTS["SMHP_SEEDS_DIR"]).resolve()
"""``SMHP_SEEDS_DIR``, absolute; read once at import, as every reader of the seeds
(``smhp.pipeline.contract``, ``smhp.access.roles``, ``smhp.reporting.catalogue``) keeps
what it read for the process."""


_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
"""The spellings of a yes/no setting."""


class SettingsError(RuntimeError):
    """A setting is missing or unusable; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    landing: Path
    warehouse: Path
    keep_snapshots: int
    dbt_threads: int
    dashboard_port: int
    dashboard_address: str
    expectations_dir: Path
    users_file: Path
    audit_db: Path
    audit_key_file: Path | None
    audit_anchor_file: Path
    audit_retention_days: int
    access_config: Path
    lockout_failures: int
    lockout_minutes: int
    signin_concurrency: int
    signin_address_failures: int
    signin_global_per_minute: int
    trusted_proxies: tuple[str, ...]
    totp_required_roles: tuple[str, ...]
    session_idle_minutes: int
    session_max_hours: int
    landing_retention_days: int
    landing_archive: Path | None
    log_retention_days: int
    accessibility_contact: str
    spc_excel_variant: bool
    addons: tuple[str, ...]
    alerts_config: Path
    alerts_delivery: str
    alerts_outbox: Path
    alerts_from: str
    smtp_host: str
    smtp_port: int
    smtp_starttls: bool
    smtp_username: str
    smtp_password_file: Path | None
    public_url: str

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from the environment, with non-None keyword overrides (CLI options)."""

        def pick(name: str, env: str) -> str:
            value = overrides.get(name)
            return str(value) if value is not None else os.environ.get(env, DEFAULTS[env])

        def number(name: str, env: str, minimum: int) -> int:
            text = pick(name, env)
            try:
                value = int(text)
            except ValueError:
                raise SettingsError(f"{env} must be a whole number, not {text!r}") from None
            if value < minimum:
                raise SettingsError(f"{env} must be at least {minimum}")
            return value

        def flag(name: str, env: str) -> bool:
            text = pick(name, env).strip().lower()
            if text not in _FLAGS:
                raise SettingsError(f"{env} must be true or false, not {text!r}")
            return _FLAGS[text]

        def names(name: str, env: str) -> tuple[str, ...]:
            return tuple(i.strip() for i in pick(name, env).split(",") if i.strip())

        archive = pick("landing_archive", "SMHP_LANDING_ARCHIVE")  # empty: none
        audit_key = pick("audit_key_file", "SMHP_AUDIT_KEY_FILE")  # empty: no seals
        password = pick("smtp_password_file", "SMHP_SMTP_PASSWORD_FILE")  # empty: no login
        return cls(
            landing=Path(pick("landing", "SMHP_LANDING")),
            warehouse=Path(pick("warehouse", "SMHP_WAREHOUSE")),
            keep_snapshots=number("keep_snapshots", "SMHP_KEEP_SNAPSHOTS", 1),
            dbt_threads=number("dbt_threads", "SMHP_DBT_THREADS", 1),
            dashboard_port=number("dashboard_port", "SMHP_DASHBOARD_PORT", 0),
            dashboard_address=pick("dashboard_address", "SMHP_DASHBOARD_ADDRESS"),
            expectations_dir=Path(pick("expectations_dir", "SMHP_EXPECTATIONS_DIR")),
            users_file=Path(pick("users_file", "SMHP_USERS_FILE")),
            audit_db=Path(pick("audit_db", "SMHP_AUDIT_DB")),
            audit_key_file=Path(audit_key) if audit_key else None,
            audit_anchor_file=Path(pick("audit_anchor_file", "SMHP_AUDIT_ANCHOR_FILE")),
            audit_retention_days=number("audit_retention_days", "SMHP_AUDIT_RETENTION_DAYS", 1),
            access_config=Path(pick("access_config", "SMHP_ACCESS_CONFIG")),
            lockout_failures=number("lockout_failures", "SMHP_LOCKOUT_FAILURES", 1),
            lockout_minutes=number("lockout_minutes", "SMHP_LOCKOUT_MINUTES", 1),
            signin_concurrency=number("signin_concurrency", "SMHP_SIGNIN_CONCURRENCY", 1),
            signin_address_failures=number(
                "signin_address_failures", "SMHP_SIGNIN_ADDRESS_FAILURES", 1
            ),
            signin_global_per_minute=number(
                "signin_global_per_minute", "SMHP_SIGNIN_GLOBAL_PER_MINUTE", 1
            ),
            trusted_proxies=_networks(names("trusted_proxies", "SMHP_TRUSTED_PROXIES")),
            totp_required_roles=_roles(names("totp_required_roles", "SMHP_TOTP_REQUIRED_ROLES")),
            session_idle_minutes=number("session_idle_minutes", "SMHP_SESSION_IDLE_MINUTES", 1),
            session_max_hours=number("session_max_hours", "SMHP_SESSION_MAX_HOURS", 1),
            landing_retention_days=number(
                "landing_retention_days", "SMHP_LANDING_RETENTION_DAYS", 1
            ),
            landing_archive=Path(archive) if archive else None,
            log_retention_days=number("log_retention_days", "SMHP_LOG_RETENTION_DAYS", 1),
            accessibility_contact=_contact(
                pick("accessibility_contact", "SMHP_ACCESSIBILITY_CONTACT")
            ),
            spc_excel_variant=flag("spc_excel_variant", "SMHP_SPC_EXCEL_VARIANT"),
            addons=names("addons", "SMHP_ADDONS"),
            alerts_config=Path(pick("alerts_config", "SMHP_ALERTS_CONFIG")),
            alerts_delivery=_delivery(pick("alerts_delivery", "SMHP_ALERTS_DELIVERY")),
            alerts_outbox=Path(pick("alerts_outbox", "SMHP_ALERTS_OUTBOX")),
            alerts_from=pick("alerts_from", "SMHP_ALERTS_FROM").strip(),
            smtp_host=pick("smtp_host", "SMHP_SMTP_HOST").strip(),
            smtp_port=number("smtp_port", "SMHP_SMTP_PORT", 1),
            smtp_starttls=flag("smtp_starttls", "SMHP_SMTP_STARTTLS"),
            smtp_username=pick("smtp_username", "SMHP_SMTP_USERNAME").strip(),
            smtp_password_file=Path(password) if password else None,
            public_url=pick("public_url", "SMHP_PUBLIC_URL").strip().rstrip("/"),
        )


def _delivery(text: str) -> str:
    """``SMHP_ALERTS_DELIVERY``: one of ``ALERT_DELIVERIES`` (a typo would send nothing)."""
    value = text.strip().lower()
    if value not in ALERT_DELIVERIES:
        raise SettingsError(
            f"SMHP_ALERTS_DELIVERY must be {' or '.join(ALERT_DELIVERIES)}, not {text!r}"
        )
    return value


def _networks(items: tuple[str, ...]) -> tuple[str, ...]:
    """``SMHP_TRUSTED_PROXIES``: addresses or networks (``10.0.0.0/8``), checked."""
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(
                f"SMHP_TRUSTED_PROXIES: {item!r} is not an IP address or network"
            ) from None
    return items


def _contact(text: str) -> str:
    """``SMHP_ACCESSIBILITY_CONTACT``: not empty (the statement must say whom to tell)."""
    if not text.strip():
        raise SettingsError(
            "SMHP_ACCESSIBILITY_CONTACT is empty: set it to the email or web address where "
            "people report an accessibility problem"
        )
    return text.strip()


def _roles(items: tuple[str, ...]) -> tuple[str, ...]:
    """``SMHP_TOTP_REQUIRED_ROLES``: role names, checked (a typo would protect nobody)."""
    from smhp.access.roles import ROLES  # it imports this module: only once this is loaded

    unknown = sorted(set(items) - set(ROLES))
    if unknown:
        raise SettingsError(
            f"SMHP_TOTP_REQUIRED_ROLES: unknown role {', '.join(unknown)} "
            f"(roles: {', '.join(ROLES)})"
        )
    return items


@contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """This process's environment with ``values`` set (``None``: unset) for the block, then
    as it was: for code that reads its settings from ``os.environ`` itself (dbt's
    ``env_var()``, a dashboard script run by the benchmark), without leaking into later work."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            _set(name, value)
        yield
    finally:
        for name, value in saved.items():
            _set(name, value)


def _set(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
