"""Row-level checks of the extract contract.

A value is valid as delivered or the row is quarantined: nothing is trimmed, re-cased or
re-formatted. A problem names the column, the *class* of the value (never the value
itself, which may be an identifier or free text) and the rule it broke, so a data
provider can find and fix the row without the value ever being stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from smhp.pipeline.contract import ColumnRule, SourceContract
from smhp.pipeline.nhs_number import is_valid_nhs_number

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_INTEGER = re.compile(r"\d+")


@dataclass(frozen=True)
class Problem:
    """One broken rule in one row."""

    column: str  # the delivered column name, or "(row)" for the row as a whole
    value_class: str
    rule: str

    @property
    def reason(self) -> str:
        return f"{self.column}: {self.value_class} (rule: {self.rule})"


def normalise_student_ref(value: str) -> str:
    """The digits of an NHS number written with or without spaces."""
    return value.replace(" ", "")


def _parse_moment(rule: ColumnRule, value: str) -> date | datetime | None:
    """The value as a date/datetime, or None if it is not exactly in the contract format."""
    try:
        if rule.type == "date" and _DATE.fullmatch(value):
            return date.fromisoformat(value)
        if rule.type == "timestamp" and _TIMESTAMP.fullmatch(value):
            return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return None


def _as_date(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def _code_class(value: str, codes: frozenset[str]) -> str:
    if value != value.strip():
        return "code with surrounding spaces"
    if any(value.casefold() == code.casefold() for code in codes):
        return "code in the wrong case"
    return "unknown code"


def _check_value(rule: ColumnRule, value: str, extract_date: date) -> Problem | None:
    """The problem with one non-empty value on its own, if any."""
    col = rule.delivered_as
    if rule.type == "nhs_number":
        digits = normalise_student_ref(value)
        if not digits.isdigit() or len(digits) != 10 or not digits.isascii():
            return Problem(col, "not 10 digits", "an NHS number: 10 digits, spaces allowed")
        if not is_valid_nhs_number(digits):
            return Problem(col, "10 digits with a wrong check digit", "NHS number modulus 11")
        return None
    if rule.type == "code" and value not in rule.values:
        return Problem(
            col, _code_class(value, rule.values), "one of " + ", ".join(sorted(rule.values))
        )
    if rule.type in ("date", "timestamp"):
        fmt = "YYYY-MM-DD" if rule.type == "date" else "YYYY-MM-DD HH:MM:SS"
        moment = _parse_moment(rule, value)
        if moment is None:
            return Problem(col, f"not a valid {rule.type}", f"format {fmt}")
        if _as_date(moment) > extract_date:
            return Problem(col, f"{rule.type} after the extract date", "not after the extract date")
        return None
    if rule.type == "integer":
        if not (_INTEGER.fullmatch(value) and value.isascii()):
            return Problem(col, "not a whole number", "digits only")
        number = int(value)
        low = rule.min if rule.min is not None else float("-inf")
        high = rule.max if rule.max is not None else float("inf")
        if not low <= number <= high:
            bounds = f"{rule.min}-{rule.max}" if rule.max is not None else f"{rule.min} or more"
            return Problem(col, "number out of range", bounds)
        return None
    if rule.type == "text" and value != value.strip():
        return Problem(col, "text with surrounding spaces", "no surrounding spaces")
    return None


def _is_required(rule: ColumnRule, row: dict[str, str]) -> bool | None:
    """True if required, False if optional, None if it must be empty."""
    cond = rule.required_when
    if cond is None:
        return rule.required or False
    other = row.get(cond["column"], "")
    met = other != "" if cond.get("is_set") else other == cond["equals"]
    return True if met else None


def _condition_text(rule: ColumnRule) -> str:
    cond = rule.required_when or {}
    if cond.get("is_set"):
        return f"{cond['column']} is set"
    return f"{cond['column']} is {cond.get('equals')}"


def check_row(contract: SourceContract, row: dict[str, str], extract_date: date) -> list[Problem]:
    """Every broken rule of one delivered row (empty list: the row is valid).

    ``row`` maps delivered column names to values; "" is null (the csv module already
    removed any quotes, so a quoted empty field is "" too).
    """
    problems: list[Problem] = []
    moments: dict[str, date | datetime] = {}
    for rule in contract.columns:
        value = row.get(rule.delivered_as, "")
        required = _is_required(rule, row)
        if value == "":
            if required:
                when = f" when {_condition_text(rule)}" if rule.required_when else ""
                problems.append(Problem(rule.delivered_as, "empty", f"required{when}"))
            continue
        if required is None:
            problems.append(
                Problem(rule.delivered_as, "set", f"must be empty unless {_condition_text(rule)}")
            )
            continue
        problem = _check_value(rule, value, extract_date)
        if problem:
            problems.append(problem)
        elif rule.type in ("date", "timestamp"):
            moments[rule.delivered_as] = _parse_moment(rule, value)  # type: ignore[assignment]
    for rule in contract.columns:
        earlier = moments.get(rule.not_before or "")
        later = moments.get(rule.delivered_as)
        if earlier is not None and later is not None and later < earlier:
            problems.append(
                Problem(
                    rule.delivered_as, f"before {rule.not_before}", f"not before {rule.not_before}"
                )
            )
    return problems
