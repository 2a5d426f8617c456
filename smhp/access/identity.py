"""Single sign-on: from an OpenID Connect identity (``st.user``) to an ``Access``.

The identity provider (Microsoft Entra ID for the partners) proves who someone is; what
they may see is decided here, from one file the partnership controls
(``config/access.toml``, see ``config/access.example.toml`` and ``docs/access.md``).
A person matches by email first (an explicit, named grant beats a group), then by the
Entra group object ids in the ``groups`` claim. Anyone not listed gets no access at all,
even with a valid sign-in: the app registration may let in more people than should see
special-category health data.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smhp.access.roles import SERVICE_MANAGER, Access, check_grant
from smhp.settings import SettingsError


class AccessConfigError(SettingsError):
    """The access config is missing or invalid; the message names the file and entry."""


@dataclass(frozen=True)
class Grant:
    """A role and, for a service manager, the institutions it covers."""

    role: str
    institutions: tuple[str, ...] | None


@dataclass(frozen=True)
class AccessConfig:
    """The parsed mapping file: tenants allowed, grants by email and by group id."""

    allowed_tenant_ids: frozenset[str]
    emails: Mapping[str, Grant]
    groups: tuple[tuple[str, Grant], ...]  # in file order: the first match decides


def _grant(entry: Mapping[str, Any], where: str) -> Grant:
    institutions = entry.get("institutions")
    if institutions is not None and not (
        isinstance(institutions, list) and all(isinstance(c, str) for c in institutions)
    ):
        raise AccessConfigError(f"{where}: institutions must be a list of codes")
    try:
        codes = check_grant(str(entry.get("role", "")), tuple(institutions or ()))
    except ValueError as exc:
        raise AccessConfigError(f"{where}: {exc}") from None
    return Grant(str(entry["role"]), codes)


def parse_access_config(data: Mapping[str, Any], source: str = "access config") -> AccessConfig:
    """Validate the TOML data of an access config; every mistake is an error here.

    Checking at load time (unknown roles, unknown institution codes, a service manager
    without institutions, a repeated email) means a broken file stops the app at start
    instead of quietly giving someone the wrong view.
    """
    sso = data.get("sso", {})
    tenants = frozenset(str(t).strip().lower() for t in sso.get("allowed_tenant_ids", []))
    emails: dict[str, Grant] = {}
    for i, entry in enumerate(data.get("users", []), start=1):
        where = f"{source}: [[users]] #{i}"
        email = str(entry.get("email", "")).strip().casefold()
        if "@" not in email:
            raise AccessConfigError(f"{where}: needs an email")
        if email in emails:
            raise AccessConfigError(f"{where}: {email} is listed twice")
        emails[email] = _grant(entry, where)
    groups: list[tuple[str, Grant]] = []
    for i, entry in enumerate(data.get("groups", []), start=1):
        where = f"{source}: [[groups]] #{i}"
        group_id = str(entry.get("id", "")).strip().lower()
        if not group_id:
            raise AccessConfigError(f"{where}: needs the group's object id")
        groups.append((group_id, _grant(entry, where)))
    return AccessConfig(tenants, emails, tuple(groups))


def load_access_config(path: Path) -> AccessConfig:
    """Read and validate ``path`` (``SMHP_ACCESS_CONFIG``, default ``config/access.toml``)."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise AccessConfigError(
            f"no access config at {path}: copy config/access.example.toml there and list "
            "who may see what (docs/access.md)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise AccessConfigError(f"{path} is not valid TOML: {exc}") from None
    return parse_access_config(data, str(path))


def _groups_claim(claims: Mapping[str, Any]) -> list[str]:
    groups = claims.get("groups") or []
    if isinstance(groups, str):
        groups = [groups]
    return [str(g).strip().lower() for g in groups]


def identity_access(claims: Mapping[str, Any], config: AccessConfig) -> Access | None:
    """The access of a signed-in identity, or ``None`` for no access at all.

    ``claims`` is the identity token's claims as Streamlit exposes them
    (``st.user.to_dict()``). Email match first, then group ids in file order: the first
    matching group decides the role; a service manager in several service-manager
    groups gets the union of their institutions. ``Access.username`` is the email (or,
    without one, ``preferred_username`` / ``oid``), which is what the audit log records.
    """
    if not claims or claims.get("is_logged_in") is False:
        return None
    if config.allowed_tenant_ids:
        tenant = str(claims.get("tid", "")).strip().lower()
        if tenant not in config.allowed_tenant_ids:
            return None
    email = str(claims.get("email") or "").strip().casefold()
    username = email or str(claims.get("preferred_username") or claims.get("oid") or "").strip()
    if not username:
        return None  # no one to name in the audit log: no access
    if email and email in config.emails:
        grant = config.emails[email]
        return Access(grant.role, grant.institutions, username)
    member_of = set(_groups_claim(claims))
    matched = [grant for group_id, grant in config.groups if group_id in member_of]
    if not matched:
        return None
    role = matched[0].role
    if role != SERVICE_MANAGER:
        return Access(role, None, username)
    codes = [c for g in matched if g.role == SERVICE_MANAGER for c in g.institutions or ()]
    return Access(role, tuple(dict.fromkeys(codes)), username)
