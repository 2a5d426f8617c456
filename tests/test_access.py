"""Roles, their pages and data scope, and single sign-on mapping: every role is checked
against the issue's rules, and anything unknown gets nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from smhp.access import (
    DENY,
    PAGES,
    Access,
    AccessConfigError,
    Scope,
    identity_access,
    load_access_config,
    pages_for,
    parse_access_config,
    scope_for,
)
from smhp.access.identity import display_details, sso_username
from smhp.settings import REPO_ROOT, Settings

TENANT = "00000000-0000-0000-0000-000000000000"
BOARD_GROUP = "11111111-1111-1111-1111-111111111111"
UOL_GROUP = "22222222-2222-2222-2222-222222222222"
HOPE_LIPA_GROUP = "33333333-3333-3333-3333-333333333333"
FUNDER_GROUP = "44444444-4444-4444-4444-444444444444"
EXAMPLE = REPO_ROOT / "config" / "access.example.toml"


# --- roles -------------------------------------------------------------------------------


def test_board_sees_every_metrics_page_everything_exact_with_records() -> None:
    assert pages_for("board") == (
        "overview",
        "service",
        "funder",
        "equity",
        "quality",
        "packs",
        "accessibility",
    )
    assert scope_for(Access("board", None, "b")) == Scope(None, False, True)


def test_service_manager_sees_their_institutions_only_with_worklists() -> None:
    assert pages_for("service_manager") == ("service", "packs", "accessibility")
    spec = scope_for(Access("service_manager", ("HOPE", "LIPA"), "m"))
    assert spec == Scope(("HOPE", "LIPA"), disclosure_control=False, record_level=True)


@pytest.mark.parametrize("institutions", [None, ()])
def test_service_manager_without_institutions_sees_none_not_all(
    institutions: tuple[str, ...] | None,
) -> None:
    assert scope_for(Access("service_manager", institutions, "m")).institutions == ()


def test_funder_sees_impact_and_equity_through_disclosure_control_only() -> None:
    assert pages_for("funder") == ("funder", "equity", "packs", "accessibility")
    spec = scope_for(Access("funder", None, "f"))
    assert spec.disclosure_control is True
    assert spec.record_level is False


def test_funder_institutions_in_access_cannot_switch_anything_on() -> None:
    spec = scope_for(Access("funder", ("UOL",), "f"))
    assert (spec.disclosure_control, spec.record_level) == (True, False)


def test_admin_sees_users_and_data_quality_only_and_no_records() -> None:
    assert pages_for("admin") == ("admin", "quality", "accessibility")
    spec = scope_for(Access("admin", None, "a"))
    assert (spec.disclosure_control, spec.record_level) == (True, False)


@pytest.mark.parametrize("role", ["", "Board", "superuser", "service manager", "board "])
def test_unknown_role_is_denied(role: str) -> None:
    assert pages_for(role) == ()
    assert scope_for(Access(role, None, "x")) == DENY
    assert Scope(institutions=(), disclosure_control=True, record_level=False) == DENY


def test_only_the_board_and_admin_see_data_quality_and_only_admin_sees_users() -> None:
    roles = ("board", "service_manager", "funder", "admin")
    assert [r for r in roles if "admin" in pages_for(r)] == ["admin"]
    assert [r for r in roles if "quality" in pages_for(r)] == ["board", "admin"]
    assert all(set(pages_for(r)) <= set(PAGES) for r in roles)


def test_scope_has_exactly_the_three_fields() -> None:
    from dataclasses import fields

    assert [f.name for f in fields(Scope)] == [
        "institutions",
        "disclosure_control",
        "record_level",
    ]
    with pytest.raises(AttributeError):
        DENY.record_level = True  # type: ignore[misc]


# --- single sign-on mapping: immutable identifiers (tid + oid), never the email ---------

CHAIR = "aaaaaaaa-0000-4000-8000-000000000001"  # the example's [[users]] oids
LEAD = "aaaaaaaa-0000-4000-8000-000000000002"
DATA_ADMIN = "aaaaaaaa-0000-4000-8000-000000000003"
NEWCOMER = "bbbbbbbb-0000-4000-8000-000000000009"  # in no [[users]] entry
OTHER_TENANT = "99999999-0000-4000-8000-000000000000"


@pytest.fixture
def config():
    return load_access_config(EXAMPLE)


def _claims(**extra: object) -> dict[str, object]:
    return {"is_logged_in": True, "tid": TENANT, "name": "Someone", **extra}


def test_example_config_is_valid(config) -> None:
    assert config.allowed_tenant_ids == {TENANT}
    assert set(config.people) == {(TENANT, CHAIR), (TENANT, LEAD), (TENANT, DATA_ADMIN)}
    assert config.people[(TENANT, CHAIR)].email == "chair.of.board@example.org"  # display
    assert len(config.groups) == 5


def test_a_person_is_matched_by_tenant_and_object_id(config) -> None:
    access = identity_access(_claims(oid=LEAD.upper(), email="anything@else.org"), config)
    assert access == Access("service_manager", ("UOL",), f"sso:{LEAD}")
    assert sso_username(_claims(oid=LEAD.upper())) == f"sso:{LEAD}"


def test_the_email_claim_never_decides(config) -> None:
    # The attack: an account whose (editable) email is set to the board chair's.
    impostor = _claims(oid=NEWCOMER, email="chair.of.board@example.org")
    assert identity_access(impostor, config) is None
    # The chair renamed: still the chair, by object id.
    renamed = identity_access(_claims(oid=CHAIR, email="someone.else@example.org"), config)
    assert renamed is not None and renamed.role == "board"
    # The lead's email on the chair's object id: the object id decides.
    swapped = identity_access(_claims(oid=CHAIR, email="wellbeing.lead@example.org"), config)
    assert swapped is not None and swapped.role == "board"


def test_the_same_object_id_from_another_allowed_tenant_is_not_that_person() -> None:
    data = {
        "sso": {"allowed_tenant_ids": [TENANT, OTHER_TENANT]},
        "users": [{"tid": TENANT, "oid": CHAIR, "role": "board"}],
    }
    config = parse_access_config(data)
    assert identity_access(_claims(oid=CHAIR), config) is not None
    assert identity_access(_claims(oid=CHAIR, tid=OTHER_TENANT), config) is None


def test_a_named_person_wins_over_groups(config) -> None:
    access = identity_access(_claims(oid=DATA_ADMIN, groups=[BOARD_GROUP]), config)
    assert access is not None and access.role == "admin"


def test_identity_by_group(config) -> None:
    access = identity_access(_claims(oid=NEWCOMER, groups=[FUNDER_GROUP]), config)
    assert access == Access("funder", None, f"sso:{NEWCOMER}")


def test_first_group_in_file_order_decides_the_role(config) -> None:
    claims = _claims(oid=NEWCOMER, groups=[FUNDER_GROUP, BOARD_GROUP.upper()])
    access = identity_access(claims, config)
    assert access is not None and access.role == "board"


def test_service_manager_groups_add_up_institutions(config) -> None:
    claims = _claims(oid=NEWCOMER, groups=[HOPE_LIPA_GROUP, UOL_GROUP, "unrelated"])
    access = identity_access(claims, config)
    assert access == Access("service_manager", ("UOL", "HOPE", "LIPA"), f"sso:{NEWCOMER}")


def test_display_details_are_for_reading_only() -> None:
    claims = _claims(oid=NEWCOMER, email="Jo@Example.org", name="Jo Bloggs")
    assert display_details(claims) == {
        "name": "Jo Bloggs",
        "email": "Jo@Example.org",
        "tenant": TENANT,
    }
    assert display_details({"preferred_username": "pu@example.org"}) == {"email": "pu@example.org"}


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"is_logged_in": False, "oid": CHAIR, "tid": TENANT},
        _claims(oid=NEWCOMER, email="stranger@example.org"),
        _claims(oid=NEWCOMER, groups=["99999999-9999-9999-9999-999999999999"]),
        _claims(oid=CHAIR, tid=OTHER_TENANT),  # the right person id, a tenant not allowed
        _claims(oid=CHAIR, tid=OTHER_TENANT, groups=[BOARD_GROUP]),
        {"is_logged_in": True, "oid": CHAIR},  # no tenant id
        _claims(groups=[BOARD_GROUP], email="chair.of.board@example.org"),  # no oid
    ],
)
def test_no_match_means_no_access(config, claims: dict[str, object]) -> None:
    assert identity_access(claims, config) is None


def _config(*users: dict, tenants: list | None = None) -> dict:
    return {"sso": {"allowed_tenant_ids": [TENANT] if tenants is None else tenants}, "users": users}


def _person(**entry: object) -> dict:
    return {"tid": TENANT, "oid": CHAIR, "role": "board", **entry}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_config(_person(role="owner")), "unknown role"),
        (_config(_person(role="service_manager")), "at least one"),
        (_config(_person(role="service_manager", institutions=["UoL"])), "unknown institution"),
        (_config(_person(institutions=["UOL"])), "only a"),
        (_config({"email": "a@b.org", "role": "board"}), "oid and tid"),  # email only
        (_config({"oid": CHAIR, "role": "board"}), "oid and tid"),
        (_config(_person(oid="chair")), "GUID"),
        (_config(_person(tid=OTHER_TENANT)), "not in \\[sso\\] allowed_tenant_ids"),
        (_config(_person(), _person(oid=CHAIR.upper(), role="funder")), "listed twice"),
        (_config(_person(), tenants=[]), "allowed_tenant_ids is required"),
        ({"users": [_person()]}, "allowed_tenant_ids is required"),
        (_config(tenants=["my-tenant"]), "GUID"),
        ({**_config(), "groups": [{"role": "board"}]}, "object id"),
        (
            {**_config(), "groups": [{"id": "g", "role": "funder", "institutions": "UOL"}]},
            "list of codes",
        ),
    ],
)
def test_invalid_config_is_an_error_at_load(data: dict, message: str) -> None:
    with pytest.raises(AccessConfigError, match=message):
        parse_access_config(data)


def test_missing_or_broken_config_file(tmp_path: Path) -> None:
    with pytest.raises(AccessConfigError, match="access.example.toml"):
        load_access_config(tmp_path / "access.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[users]\nemail = ", encoding="utf-8")
    with pytest.raises(AccessConfigError, match="not valid TOML"):
        load_access_config(broken)


def test_settings_name_the_access_files(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMHP_USERS_FILE", "SMHP_AUDIT_DB", "SMHP_ACCESS_CONFIG", "SMHP_LOCKOUT_FAILURES"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert settings.users_file == Path("var/users.json")
    assert settings.audit_db == Path("var/audit.sqlite3")
    assert settings.access_config == Path("config/access.toml")
    assert (settings.lockout_failures, settings.lockout_minutes) == (5, 15)
    assert (settings.session_idle_minutes, settings.session_max_hours) == (30, 8)
    monkeypatch.setenv("SMHP_LOCKOUT_FAILURES", "three")
    from smhp.settings import SettingsError

    with pytest.raises(SettingsError, match="SMHP_LOCKOUT_FAILURES"):
        Settings.from_env()
