"""The alerts' one settings file (``SMHP_ALERTS_CONFIG``, default ``config/alerts.toml``).

Which rules are on, which metrics are watched and who is told: one file, so a reviewer sees
the whole alert policy in one place. Everything in it is checked when it is read, against
the one place each name is defined (metrics: the catalogue, ``smhp.reporting.catalogue``;
roles and institutions: ``smhp.access.roles``). A typo is an error naming the file and the
key, never a rule that silently watches nothing or a manager who is silently never told.

Stale sources take no threshold here: the latest run's ``ops.freshness`` verdict (its
``warn_after_days`` per source) is the one the data-quality page and ``smhp status`` show.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smhp.access.roles import ADMIN, BOARD, FUNDER, SERVICE_MANAGER, check_grant, role_label
from smhp.reporting.catalogue import METRICS, Direction

SPC_CONCERN = "spc_concern"
STANDARD_MISSED = "standard_missed"
SOURCE_STALE = "source_stale"
RUN_NOT_PUBLISHED = "run_not_published"
RULES: tuple[str, ...] = (SPC_CONCERN, STANDARD_MISSED, SOURCE_STALE, RUN_NOT_PUBLISHED)
"""Every rule, in the order signals are listed."""

OPERATIONAL_RULES = frozenset({SOURCE_STALE, RUN_NOT_PUBLISHED})
"""Rules about the pipeline, not a figure: the administrators' business."""

_SECTIONS = {"rules", "spc", "standards", "recipients"}
_RECIPIENT_KEYS = {"role", "email", "institution", "institutions"}


class AlertConfigError(ValueError):
    """The alerts file is missing or wrong; the message names the file and the key."""


Fail = Callable[[str, str], AlertConfigError]
"""Makes the error of a key (``recipients[2].email``) and why it is wrong."""


@dataclass(frozen=True)
class Recipient:
    """Someone on the alert list: a role (``smhp.access.roles``), an address and, for a
    service manager, the institutions whose signals they get."""

    role: str
    email: str
    institutions: tuple[str, ...] | None = None

    def wants(self, rule: str, institution_code: str | None) -> bool:
        """Whether this recipient is told of a signal of ``rule`` about ``institution_code``
        (``ALL``: the partnership; ``None``: no institution, e.g. a source or a run).

        The board hears of everything; a service manager of its own institutions' figures
        only (never the partnership's or another institution's); an administrator of the
        pipeline (stale sources, runs not published); a funder of nothing.
        """
        if self.role == BOARD:
            return True
        if self.role == SERVICE_MANAGER:
            return institution_code is not None and institution_code in (self.institutions or ())
        if self.role == ADMIN:
            return rule in OPERATIONAL_RULES
        return False

    @property
    def describe(self) -> str:
        """``service manager (UOL)``: why this address gets the message."""
        return role_label(self.role).lower() + (
            f" ({', '.join(self.institutions)})" if self.institutions else ""
        )


@dataclass(frozen=True)
class AlertRules:
    """The alerts file, checked."""

    path: Path
    rules: frozenset[str]
    spc_metrics: tuple[str, ...]
    spc_months: int
    standard_metrics: tuple[str, ...]
    recipients: tuple[Recipient, ...]

    def on(self, rule: str) -> bool:
        """Whether ``rule`` is switched on."""
        return rule in self.rules


def load_rules(path: Path) -> AlertRules:
    """The alerts file at ``path``, checked (``AlertConfigError`` names what is wrong)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AlertConfigError(f"{path}: no alerts file (set SMHP_ALERTS_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise AlertConfigError(f"{path}: not valid TOML: {exc}") from None
    return _parse(path, raw)


def _parse(path: Path, raw: dict[str, Any]) -> AlertRules:
    def fail(key: str, why: str) -> AlertConfigError:
        return AlertConfigError(f"{path}: {key}: {why}")

    unknown = sorted(set(raw) - _SECTIONS)
    if unknown:
        raise fail(unknown[0], f"unknown section (sections: {', '.join(sorted(_SECTIONS))})")
    rules_table = _table(raw, "rules", fail)
    for name, value in rules_table.items():
        if name not in RULES:
            raise fail(f"rules.{name}", f"unknown rule (rules: {', '.join(RULES)})")
        if not isinstance(value, bool):
            raise fail(f"rules.{name}", "must be true or false")
    spc = _table(raw, "spc", fail)
    standards = _table(raw, "standards", fail)
    spc_metrics = _metrics(spc, "spc", fail, frozenset({"months"}))
    for metric in spc_metrics:
        if METRICS[metric].direction == Direction.NEITHER:
            raise fail("spc.metrics", f"{metric} has no good direction: it never shows a concern")
    months = spc.get("months", 24)
    if not isinstance(months, int) or isinstance(months, bool) or months < 2:
        raise fail("spc.months", "must be a whole number of months, at least 2")
    standard_metrics = _metrics(standards, "standards", fail)
    for metric in standard_metrics:
        if METRICS[metric].target is None:
            raise fail("standards.metrics", f"{metric} has no target in the metric catalogue")
    recipients = raw.get("recipients", [])
    if not isinstance(recipients, list):
        raise fail("recipients", "must be [[recipients]] tables")
    return AlertRules(
        path=path,
        rules=frozenset(name for name in RULES if rules_table.get(name, True)),
        spc_metrics=spc_metrics,
        spc_months=months,
        standard_metrics=standard_metrics,
        recipients=tuple(_recipient(item, i, fail) for i, item in enumerate(recipients, 1)),
    )


def _table(raw: dict[str, Any], name: str, fail: Fail) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise fail(name, "must be a table")
    return value


def _metrics(
    table: dict[str, Any], section: str, fail: Fail, allowed: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """The ``metrics`` list of ``section``, each a catalogued metric; other keys than
    ``metrics`` and ``allowed`` are refused."""
    metrics = table.get("metrics", [])
    extra = sorted(set(table) - {"metrics", *allowed})
    if extra:
        raise fail(f"{section}.{extra[0]}", "unknown key")
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise fail(f"{section}.metrics", "must be a list of metric names")
    for metric in metrics:
        if metric not in METRICS:
            raise fail(
                f"{section}.metrics",
                f"unknown metric {metric!r} (not in seeds/metric_catalogue.csv)",
            )
    return tuple(dict.fromkeys(metrics))


def _recipient(item: object, number: int, fail: Fail) -> Recipient:
    key = f"recipients[{number}]"
    if not isinstance(item, dict):
        raise fail(key, "must be a table")
    extra = sorted(set(item) - _RECIPIENT_KEYS)
    if extra:
        raise fail(f"{key}.{extra[0]}", f"unknown key (keys: {', '.join(sorted(_RECIPIENT_KEYS))})")
    role, email = item.get("role"), item.get("email")
    if not isinstance(email, str) or "@" not in email or any(c.isspace() for c in email):
        raise fail(f"{key}.email", "must be an email address")
    codes = item.get("institutions", [])
    if "institution" in item:
        codes = [item["institution"], *codes]
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise fail(f"{key}.institutions", "must be a list of institution codes")
    if role == FUNDER:
        raise fail(f"{key}.role", "funders get no alerts (the funder page and pack are theirs)")
    try:
        institutions = check_grant(str(role), tuple(codes))
    except ValueError as exc:
        raise fail(key, str(exc)) from None
    return Recipient(role=str(role), email=email, institutions=institutions)
