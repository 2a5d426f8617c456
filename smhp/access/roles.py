"""Roles: which pages a viewer gets and what the data scope behind them allows.

This is the one place that decides access; the dashboard asks ``pages_for`` and
``scope_for`` and never tests a role name itself, so a new role or a changed rule is a
change here only. Everything denies by default: a role this module does not know gets
no pages and a scope with no institutions, disclosure control on and no record-level
data, so a typo in a users file or the access config can never widen access.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from functools import cache

from smhp.settings import SEEDS_DIR

BOARD = "board"
SERVICE_MANAGER = "service_manager"
FUNDER = "funder"
ADMIN = "admin"
ROLES: tuple[str, ...] = (BOARD, SERVICE_MANAGER, FUNDER, ADMIN)
ROLE_LABELS: dict[str, str] = {
    BOARD: "Board",
    SERVICE_MANAGER: "Service manager",
    FUNDER: "Funder",
    ADMIN: "Administrator",
}
"""How people read each role (the dashboard's account line and user list)."""

#: Page ids the dashboard maps to its views (``dashboard/navigation.py``).
OVERVIEW, SERVICE, FUNDER_PAGE, EQUITY, QUALITY, PACKS, ADMIN_PAGE, ACCESSIBILITY = (
    "overview",
    "service",
    "funder",
    "equity",
    "quality",
    "packs",
    "admin",
    "accessibility",
)
PAGES: tuple[str, ...] = (
    OVERVIEW,
    SERVICE,
    FUNDER_PAGE,
    EQUITY,
    QUALITY,
    PACKS,
    ADMIN_PAGE,
    ACCESSIBILITY,
)

# The first page of each tuple is the viewer's landing page. The board sees every
# metrics page but not the user administration (separation of duties: user admin is
# the admin role's job). The admin sees no metrics, only users/audit and data quality.
# Every role can read the accessibility statement (no data on it; the public-sector
# accessibility regulations ask for it), after its own pages. The PDF packs page offers each
# role the packs within its scope (smhp.packs.store.may_read); the admin reads no metrics.
_PAGES_BY_ROLE: dict[str, tuple[str, ...]] = {
    BOARD: (OVERVIEW, SERVICE, FUNDER_PAGE, EQUITY, QUALITY, PACKS, ACCESSIBILITY),
    SERVICE_MANAGER: (SERVICE, PACKS, ACCESSIBILITY),
    FUNDER: (FUNDER_PAGE, EQUITY, PACKS, ACCESSIBILITY),
    ADMIN: (ADMIN_PAGE, QUALITY, ACCESSIBILITY),
}


@dataclass(frozen=True)
class Access:
    """Who the viewer is and what they were granted: the result of any sign-in.

    ``institutions`` matters for service managers only (their institutions); for the
    other roles it is ``None``. A service manager with ``None`` or ``()`` sees nothing:
    ``None`` never means "all" for that role.
    """

    role: str
    institutions: tuple[str, ...] | None
    username: str

    def __post_init__(self) -> None:
        if self.institutions is not None and not isinstance(self.institutions, tuple):
            object.__setattr__(self, "institutions", tuple(self.institutions))


@dataclass(frozen=True)
class Scope:
    """What a viewer may see: the one argument every dashboard query takes to decide it.

    ``institutions``: the institutions whose records the viewer may see (``None`` = all,
    i.e. the partnership's ``ALL`` rows; a tuple = only these). ``disclosure_control``:
    figures go through the NHS disclosure rule (``smhp.reporting.disclosure``) before they
    are shown. ``record_level``: the viewer may see pseudonymous record-level rows such as
    the waiting-list worklist. The dashboard gets it from ``scope_for`` of the signed-in
    viewer's access on every rerun (``dashboard.auth.session.viewer_scope``), never from
    input; a page filter can only narrow it (``narrowed_to``).
    """

    institutions: tuple[str, ...] | None
    disclosure_control: bool
    record_level: bool = False

    def allows(self, institution: str) -> bool:
        """Whether the viewer may see ``institution``."""
        return self.institutions is None or institution in self.institutions

    @property
    def is_empty(self) -> bool:
        """Whether the scope allows no institution at all (every query returns nothing)."""
        return self.institutions is not None and not self.institutions

    def narrowed_to(self, institution: str | None) -> Scope:
        """This scope limited to one of its institutions (``None``: unchanged).

        A page filter narrows the scope rather than adding its own ``where`` clause, so
        the scope stays the single argument that decides institutions; a filter can never
        widen what the viewer may see. A filter naming an institution outside the scope
        (a tampered widget value) gives the empty scope: nothing, never more.
        """
        if institution is None:
            return self
        if not self.allows(institution):
            return replace(self, institutions=())
        return replace(self, institutions=(institution,))

    def params(self) -> dict[str, list[str] | None]:
        """The scope as bound parameters: ``$institutions`` (NULL for all); the SQL
        condition on them is ``dashboard.data.in_scope``."""
        return {"institutions": None if self.institutions is None else list(self.institutions)}


BOARD_SCOPE = Scope(institutions=None, disclosure_control=False, record_level=True)
"""The board's view: the whole partnership, exact figures, record-level worklists."""

FUNDER_SCOPE = Scope(institutions=None, disclosure_control=True, record_level=False)
"""A funder's view: the whole partnership, through disclosure control, no records."""

#: What an unknown or broken role gets: nothing.
DENY = Scope(institutions=(), disclosure_control=True, record_level=False)


def role_label(role: str) -> str:
    """``role`` as people read it (``Service manager``); an unknown role as it is written."""
    return ROLE_LABELS.get(role, role)


def grant_text(role: str, institutions: tuple[str, ...] | None) -> str:
    """A role (code or label) and its institutions on one line: ``service_manager: HOPE,
    UOL``, or the role alone; the same wording in ``smhp users`` and the dashboard."""
    return role + (f": {', '.join(institutions)}" if institutions else "")


def pages_for(role: str) -> tuple[str, ...]:
    """The page ids ``role`` may open, landing page first; ``()`` for an unknown role."""
    return _PAGES_BY_ROLE.get(role, ())


def scope_for(access: Access) -> Scope:
    """The data scope of ``access``; ``DENY`` for anything not explicitly granted."""
    if access.role == BOARD:
        return BOARD_SCOPE
    if access.role == SERVICE_MANAGER:
        return Scope(
            institutions=tuple(access.institutions or ()),
            disclosure_control=False,
            record_level=True,
        )
    if access.role == FUNDER:
        # Funders compare institutions on the equity page, but only through disclosure
        # control and never at record level (the data-sharing agreement).
        return FUNDER_SCOPE
    if access.role == ADMIN:
        # The quality page is operational (loads, quarantine counts) and the same for
        # every scope; disclosure on and no records in case a figure is ever added there.
        return Scope(institutions=None, disclosure_control=True, record_level=False)
    return DENY


@cache
def known_institutions() -> frozenset[str]:
    """The institution codes of the partnership (``seeds/institutions.csv``).

    Users and the access config are checked against them so that a typo such as
    ``UoL`` is an error when it is written, not a manager who silently sees nothing.
    """
    with (SEEDS_DIR / "institutions.csv").open(newline="", encoding="utf-8") as handle:
        return frozenset(row["institution_code"] for row in csv.DictReader(handle))


def check_grant(role: str, institutions: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Validate a role and its institutions; return the institutions to store.

    Raises ``ValueError`` with a message a person can act on. Service managers need at
    least one known institution; the other roles take none (they see what their role
    allows, so a list there would only mislead a reader of the file).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    codes = tuple(dict.fromkeys(institutions or ()))  # de-duplicated, order kept
    if role != SERVICE_MANAGER:
        if codes:
            raise ValueError(f"only a {SERVICE_MANAGER} has institutions, not a {role}")
        return None
    if not codes:
        raise ValueError(f"a {SERVICE_MANAGER} needs at least one institution")
    unknown = [code for code in codes if code not in known_institutions()]
    if unknown:
        raise ValueError(
            f"unknown institution code(s) {', '.join(unknown)}: "
            f"use {', '.join(sorted(known_institutions()))}"
        )
    return codes
