"""Single sign-on: from an OpenID Connect identity (``st.user``) to an ``Access``.

The identity provider (Microsoft Entra ID for the partners) proves who someone is; what
they may see is decided here, from one file the partnership controls
(``config/access.toml``, see ``config/access.example.toml`` and ``docs/access.md``).

Only identifiers that cannot change decide: a person is matched by the token's tenant id
(``tid``) and object id (``oid``), which Entra never reassigns, then by the object ids of
the Entra groups in the ``groups`` claim. The ``email`` claim is never used to decide:
it is editable (by the user's own tenant, or by anyone for a guest or an unverified
address), so matching on it would let someone *become* another person by renaming. The
email and name are kept for display only. The tenant must be one of
``allowed_tenant_ids``. Anyone not listed gets no access at all, even with a valid
sign-in: the app registration may let in more people than should see special-category
health data.
"""

from __future__ import annotations

import re
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
class Person:
    """A named person's grant; ``email`` is only shown, never matched."""

    grant: Grant
    email: str | None = None


@dataclass(frozen=True)
class AccessConfig:
    """The parsed mapping file: tenants allowed, people by (tid, oid), groups by id."""

    allowed_tenant_ids: frozenset[str]
    people: Mapping[tuple[str, str], Person]
    groups: tuple[tuple[str, Grant], ...]  # in file order: the first match decides


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _guid(value: object, what: str, where: str) -> str:
    text = str(value or "").strip().lower()
    if not _GUID.fullmatch(text):
        raise AccessConfigError(
            f"{where}: {what} must be an Entra object id (a GUID such as "
            "00000000-0000-0000-0000-000000000000)"
        )
    return text


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


def _person(entry: Mapping[str, Any], tenants: frozenset[str], where: str) -> tuple[str, str]:
    """The (tid, oid) of a ``[[users]]`` entry, checked."""
    if "oid" not in entry or "tid" not in entry:
        raise AccessConfigError(
            f"{where}: a person is matched by their Entra object id and tenant id: give "
            "oid and tid (Entra admin centre > Users > the person > Object ID; the tenant's "
            "Directory ID). An email alone is not accepted: it can be changed, an oid cannot"
        )
    tid = _guid(entry["tid"], "tid", where)
    if tid not in tenants:
        raise AccessConfigError(f"{where}: tid {tid} is not in [sso] allowed_tenant_ids")
    return tid, _guid(entry["oid"], "oid", where)


def parse_access_config(data: Mapping[str, Any], source: str = "access config") -> AccessConfig:
    """Validate the TOML data of an access config; every mistake is an error here.

    Checking at load time (no tenant list, a person without oid and tid, unknown roles,
    unknown institution codes, a service manager without institutions, a person listed
    twice) means a broken file stops the app at start instead of quietly giving someone
    the wrong view.
    """
    sso = data.get("sso", {})
    tenants = frozenset(
        _guid(t, "each of allowed_tenant_ids", f"{source}: [sso]")
        for t in sso.get("allowed_tenant_ids", [])
    )
    if not tenants:
        raise AccessConfigError(
            f"{source}: [sso] allowed_tenant_ids is required: list the Directory (tenant) "
            "id of the partnership's Entra tenant"
        )
    people: dict[tuple[str, str], Person] = {}
    for i, entry in enumerate(data.get("users", []), start=1):
        where = f"{source}: [[users]] #{i}"
        key = _person(entry, tenants, where)
        if key in people:
            raise AccessConfigError(f"{where}: oid {key[1]} is listed twice")
        email = str(entry.get("email") or "").strip() or None
        people[key] = Person(_grant(entry, where), email)
    groups: list[tuple[str, Grant]] = []
    for i, entry in enumerate(data.get("groups", []), start=1):
        where = f"{source}: [[groups]] #{i}"
        group_id = str(entry.get("id", "")).strip().lower()
        if not group_id:
            raise AccessConfigError(f"{where}: needs the group's object id")
        groups.append((group_id, _grant(entry, where)))
    return AccessConfig(tenants, people, tuple(groups))


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


def _claim(claims: Mapping[str, Any], name: str) -> str:
    return str(claims.get(name) or "").strip().lower()


def sso_username(claims: Mapping[str, Any]) -> str | None:
    """The name the audit log gives a single sign-on identity: ``sso:<oid>`` (the Entra
    object id, which never changes or moves to someone else), or ``None`` without one."""
    oid = _claim(claims, "oid")
    return f"sso:{oid}" if oid else None


def display_details(claims: Mapping[str, Any]) -> dict[str, str]:
    """Who an identity says it is, for people reading the audit log: name and email as
    the token carries them (shown, never used to decide), and the tenant."""
    shown = {
        "name": str(claims.get("name") or "").strip(),
        "email": str(claims.get("email") or claims.get("preferred_username") or "").strip(),
        "tenant": _claim(claims, "tid"),
    }
    return {key: value for key, value in shown.items() if value}


def identity_access(claims: Mapping[str, Any], config: AccessConfig) -> Access | None:
    """The access of a signed-in identity, or ``None`` for no access at all.

    ``claims`` is the identity token's claims as Streamlit exposes them
    (``st.user.to_dict()``). The ``tid`` claim must be an allowed tenant and ``oid``
    present. Then a ``[[users]]`` entry with this (tid, oid) decides; otherwise the group
    ids in file order: the first matching group decides the role, and a service manager
    in several service-manager groups gets the union of their institutions.
    ``Access.username`` is ``sso_username`` (``sso:<oid>``), what the audit log records.
    """
    if not claims or claims.get("is_logged_in") is False:
        return None
    tenant, username = _claim(claims, "tid"), sso_username(claims)
    if tenant not in config.allowed_tenant_ids or username is None:
        return None
    person = config.people.get((tenant, _claim(claims, "oid")))
    if person is not None:
        return Access(person.grant.role, person.grant.institutions, username)
    member_of = set(_groups_claim(claims))
    matched = [grant for group_id, grant in config.groups if group_id in member_of]
    if not matched:
        return None
    role = matched[0].role
    if role != SERVICE_MANAGER:
        return Access(role, None, username)
    codes = [c for g in matched if g.role == SERVICE_MANAGER for c in g.institutions or ()]
    return Access(role, tuple(dict.fromkeys(codes)), username)
