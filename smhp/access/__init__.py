"""Who may see what: roles, their pages and data scope, sessions, single sign-on.

Pure Python, no Streamlit: the dashboard imports from here and keeps the results in its
session. Sign-in with the local users file is ``smhp.access.users``; the audit log is
``smhp.access.audit``. ``docs/access.md`` describes the whole flow.
"""

from smhp.access.identity import (
    AccessConfig,
    AccessConfigError,
    Grant,
    identity_access,
    load_access_config,
    parse_access_config,
)
from smhp.access.lockout import LockoutPolicy, locked_until
from smhp.access.roles import (
    ADMIN,
    BOARD,
    BOARD_SCOPE,
    DENY,
    FUNDER,
    FUNDER_SCOPE,
    PAGES,
    ROLE_LABELS,
    ROLES,
    SERVICE_MANAGER,
    Access,
    Scope,
    check_grant,
    grant_text,
    known_institutions,
    pages_for,
    role_label,
    scope_for,
)
from smhp.access.session import Session, SessionPolicy

__all__ = [
    "ADMIN",
    "BOARD",
    "BOARD_SCOPE",
    "DENY",
    "FUNDER",
    "FUNDER_SCOPE",
    "PAGES",
    "ROLE_LABELS",
    "ROLES",
    "SERVICE_MANAGER",
    "Access",
    "AccessConfig",
    "AccessConfigError",
    "Grant",
    "LockoutPolicy",
    "Scope",
    "Session",
    "SessionPolicy",
    "check_grant",
    "grant_text",
    "identity_access",
    "known_institutions",
    "load_access_config",
    "locked_until",
    "pages_for",
    "parse_access_config",
    "role_label",
    "scope_for",
]
