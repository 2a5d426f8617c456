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
    ScopeSpec,
    identity_access,
    load_access_config,
    pages_for,
    parse_access_config,
    scope_for,
)
from smhp.settings import REPO_ROOT, Settings

TENANT = "00000000-0000-0000-0000-000000000000"
BOARD_GROUP = "11111111-1111-1111-1111-111111111111"
UOL_GROUP = "22222222-2222-2222-2222-222222222222"
HOPE_LIPA_GROUP = "33333333-3333-3333-3333-333333333333"
FUNDER_GROUP = "44444444-4444-4444-4444-444444444444"
EXAMPLE = REPO_ROOT / "config" / "access.example.toml"


# --- roles -------------------------------------------------------------------------------


def test_board_sees_every_metrics_page_everything_exact_with_records() -> None:
    assert pages_for("board") == ("overview", "service", "funder", "equity", "quality")
    assert scope_for(Access("board", None, "b")) == ScopeSpec(None, False, True)


def test_service_manager_sees_their_institutions_only_with_worklists() -> None:
    assert pages_for("service_manager") == ("service",)
    spec = scope_for(Access("service_manager", ("HOPE", "LIPA"), "m"))
    assert spec == ScopeSpec(("HOPE", "LIPA"), disclosure_control=False, record_level=True)


@pytest.mark.parametrize("institutions", [None, ()])
def test_service_manager_without_institutions_sees_none_not_all(
    institutions: tuple[str, ...] | None,
) -> None:
    assert scope_for(Access("service_manager", institutions, "m")).institutions == ()


def test_funder_sees_impact_and_equity_through_disclosure_control_only() -> None:
    assert pages_for("funder") == ("funder", "equity")
    spec = scope_for(Access("funder", None, "f"))
    assert spec.disclosure_control is True
    assert spec.record_level is False


def test_funder_institutions_in_access_cannot_switch_anything_on() -> None:
    spec = scope_for(Access("funder", ("UOL",), "f"))
    assert (spec.disclosure_control, spec.record_level) == (True, False)


def test_admin_sees_users_and_data_quality_only_and_no_records() -> None:
    assert pages_for("admin") == ("admin", "quality")
    spec = scope_for(Access("admin", None, "a"))
    assert (spec.disclosure_control, spec.record_level) == (True, False)


@pytest.mark.parametrize("role", ["", "Board", "superuser", "service manager", "board "])
def test_unknown_role_is_denied(role: str) -> None:
    assert pages_for(role) == ()
    assert scope_for(Access(role, None, "x")) == DENY
    assert ScopeSpec(institutions=(), disclosure_control=True, record_level=False) == DENY


def test_only_the_board_and_admin_see_data_quality_and_only_admin_sees_users() -> None:
    roles = ("board", "service_manager", "funder", "admin")
    assert [r for r in roles if "admin" in pages_for(r)] == ["admin"]
    assert [r for r in roles if "quality" in pages_for(r)] == ["board", "admin"]
    assert all(set(pages_for(r)) <= set(PAGES) for r in roles)


def test_scope_spec_has_exactly_the_three_fields() -> None:
    from dataclasses import fields

    assert [f.name for f in fields(ScopeSpec)] == [
        "institutions",
        "disclosure_control",
        "record_level",
    ]
    with pytest.raises(AttributeError):
        DENY.record_level = True  # type: ignore[misc]


# --- single sign-on mapping ------------------------------------------------------------


@pytest.fixture
def config():
    return load_access_config(EXAMPLE)


def _claims(**extra: object) -> dict[str, object]:
    return {"is_logged_in": True, "tid": TENANT, "name": "Someone", **extra}


def test_example_config_is_valid(config) -> None:
    assert "chair.of.board@example.org" in config.emails
    assert len(config.groups) == 5


def test_identity_by_email_case_insensitive(config) -> None:
    access = identity_access(_claims(email="Wellbeing.Lead@EXAMPLE.org"), config)
    assert access == Access("service_manager", ("UOL",), "wellbeing.lead@example.org")


def test_email_match_wins_over_groups(config) -> None:
    access = identity_access(_claims(email="data.admin@example.org", groups=[BOARD_GROUP]), config)
    assert access is not None and access.role == "admin"


def test_identity_by_group(config) -> None:
    access = identity_access(_claims(email="new.person@example.org", groups=[FUNDER_GROUP]), config)
    assert access == Access("funder", None, "new.person@example.org")


def test_first_group_in_file_order_decides_the_role(config) -> None:
    claims = _claims(email="x@example.org", groups=[FUNDER_GROUP, BOARD_GROUP.upper()])
    access = identity_access(claims, config)
    assert access is not None and access.role == "board"


def test_service_manager_groups_add_up_institutions(config) -> None:
    claims = _claims(email="m@example.org", groups=[HOPE_LIPA_GROUP, UOL_GROUP, "unrelated"])
    access = identity_access(claims, config)
    assert access == Access("service_manager", ("UOL", "HOPE", "LIPA"), "m@example.org")


def test_username_falls_back_when_there_is_no_email(config) -> None:
    access = identity_access(
        _claims(preferred_username="pu@example.org", groups=[UOL_GROUP]), config
    )
    assert access is not None and access.username == "pu@example.org"


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"is_logged_in": False, "email": "chair.of.board@example.org", "tid": TENANT},
        _claims(email="stranger@example.org"),
        _claims(email="stranger@example.org", groups=["99999999-9999-9999-9999-999999999999"]),
        _claims(email="chair.of.board@example.org", tid="another-tenant"),
        {"is_logged_in": True, "email": "chair.of.board@example.org"},  # no tenant id
        _claims(groups=[BOARD_GROUP]),  # nobody to name in the audit log
    ],
)
def test_no_match_means_no_access(config, claims: dict[str, object]) -> None:
    assert identity_access(claims, config) is None


def test_without_a_tenant_list_any_tenant_is_matched_by_the_mapping() -> None:
    config = parse_access_config({"users": [{"email": "a@b.org", "role": "board"}]})
    assert identity_access({"email": "a@b.org"}, config) == Access("board", None, "a@b.org")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"users": [{"email": "a@b.org", "role": "owner"}]}, "unknown role"),
        ({"users": [{"email": "a@b.org", "role": "service_manager"}]}, "at least one"),
        (
            {"users": [{"email": "a@b.org", "role": "service_manager", "institutions": ["UoL"]}]},
            "unknown institution",
        ),
        ({"users": [{"email": "a@b.org", "role": "board", "institutions": ["UOL"]}]}, "only a"),
        ({"users": [{"role": "board"}]}, "needs an email"),
        (
            {
                "users": [
                    {"email": "a@b.org", "role": "board"},
                    {"email": "A@b.org", "role": "funder"},
                ]
            },
            "listed twice",
        ),
        ({"groups": [{"role": "board"}]}, "object id"),
        ({"groups": [{"id": "g", "role": "funder", "institutions": "UOL"}]}, "list of codes"),
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
