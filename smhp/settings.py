"""Every setting of smhp, in one place.

Each setting is an environment variable with a default that suits the demo on a
developer's machine; command-line options override them. Paths are relative to the
directory the command runs in (the README runs everything from the repo root).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PIPELINE_DIR = REPO_ROOT / "pipeline"
SEEDS_DIR = REPO_ROOT / "seeds"
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
    # Sign-in and access (docs/access.md). The users file and the audit log hold personal
    # data of staff: keep them outside the published warehouse, readable by the app only.
    "SMHP_USERS_FILE": "var/users.json",
    "SMHP_AUDIT_DB": "var/audit.sqlite3",
    "SMHP_ACCESS_CONFIG": "config/access.toml",
    "SMHP_LOCKOUT_FAILURES": "5",
    "SMHP_LOCKOUT_MINUTES": "15",
    "SMHP_SESSION_IDLE_MINUTES": "30",
    "SMHP_SESSION_MAX_HOURS": "8",
}


class SettingsError(RuntimeError):
    """A setting is missing or unusable; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    landing: Path
    warehouse: Path
    keep_snapshots: int
    dashboard_port: int
    dashboard_address: str
    expectations_dir: Path
    users_file: Path
    audit_db: Path
    access_config: Path
    lockout_failures: int
    lockout_minutes: int
    session_idle_minutes: int
    session_max_hours: int

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

        return cls(
            landing=Path(pick("landing", "SMHP_LANDING")),
            warehouse=Path(pick("warehouse", "SMHP_WAREHOUSE")),
            keep_snapshots=number("keep_snapshots", "SMHP_KEEP_SNAPSHOTS", 1),
            dashboard_port=number("dashboard_port", "SMHP_DASHBOARD_PORT", 0),
            dashboard_address=pick("dashboard_address", "SMHP_DASHBOARD_ADDRESS"),
            expectations_dir=Path(pick("expectations_dir", "SMHP_EXPECTATIONS_DIR")),
            users_file=Path(pick("users_file", "SMHP_USERS_FILE")),
            audit_db=Path(pick("audit_db", "SMHP_AUDIT_DB")),
            access_config=Path(pick("access_config", "SMHP_ACCESS_CONFIG")),
            lockout_failures=number("lockout_failures", "SMHP_LOCKOUT_FAILURES", 1),
            lockout_minutes=number("lockout_minutes", "SMHP_LOCKOUT_MINUTES", 1),
            session_idle_minutes=number("session_idle_minutes", "SMHP_SESSION_IDLE_MINUTES", 1),
            session_max_hours=number("session_max_hours", "SMHP_SESSION_MAX_HOURS", 1),
        )


def pseudonym_key() -> bytes:
    """The HMAC key for student identifiers: never in the repo, never defaulted.

    From ``SMHP_PSEUDONYM_KEY``, or from the file named by ``SMHP_PSEUDONYM_KEY_FILE``
    (for a secrets mount). A run without one must not start: a default key would make
    pseudonyms reversible by anyone who reads this code.
    """
    key = os.environ.get("SMHP_PSEUDONYM_KEY", "")
    key_file = os.environ.get("SMHP_PSEUDONYM_KEY_FILE", "")
    if not key and key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(
                f"SMHP_PSEUDONYM_KEY_FILE {key_file} cannot be read: {exc}"
            ) from None
    if not key:
        raise SettingsError(
            "No pseudonymisation key: set SMHP_PSEUDONYM_KEY (or SMHP_PSEUDONYM_KEY_FILE) "
            "to the partnership's secret before loading extracts. Refusing to start."
        )
    if len(key) < 16:
        raise SettingsError("SMHP_PSEUDONYM_KEY is too short: use at least 16 characters.")
    return key.encode("utf-8")
