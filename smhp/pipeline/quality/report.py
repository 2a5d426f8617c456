"""What a quality check found, as results a person can read and act on.

A result says what was observed in a short text — a value, a ratio, a count, a code, a
month — but never a row value that could identify anyone: values of unexpected rows are
copied only for expectations whose meta sets ``show_values`` (columns of counts, ratios
and codes) and never from an identifier column. A frame may name its rows with a
``row_label`` column (months, metrics, codes only); the labels of failing rows are shown.
Error messages (DuckDB, pandas, GX) lose their single-quoted literals, which may be values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smhp.pipeline.quality.suites import Suite

ROW_LABEL = "row_label"
"""A frame column naming each row in results (months, metrics, codes — never an id)."""

_MAX_SHOWN = 5  # failing rows named in one observed value
_MAX_TEXT = 300  # characters of one observed value


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """The outcome of one expectation on the candidate."""

    kind: str = "expectation"
    suite: str
    name: str
    """The expectation type and a summary of its column and bounds, e.g.
    ``expect_column_values_to_be_between(pct_value, min_value=0, max_value=100)``."""
    severity: str
    """``error`` (a failure blocks publishing) or ``warning`` (shown, publishes)."""
    success: bool
    observed_value: str | None
    """A short text: the observed value, or how many rows were unexpected and which (by
    row label); never a value that could identify a person or a record."""
    why: str

    @property
    def blocking(self) -> bool:
        """True when this result must stop the candidate from being published."""
        return not self.success and self.severity == "error"

    def line(self) -> str:
        """One line for a log or a terminal."""
        status = "ok" if self.success else ("FAILED" if self.severity == "error" else "WARN")
        return f"{status} {self.suite}: {self.name} (observed {self.observed_value})" + (
            "" if self.success else f": {self.why}"
        )


def failed_errors(results: Iterable[CheckResult]) -> list[CheckResult]:
    """The failed ``error`` expectations: any of them means do not publish."""
    return [r for r in results if r.blocking]


def failed_warnings(results: Iterable[CheckResult]) -> list[CheckResult]:
    """The failed ``warning`` expectations: publish, and show them."""
    return [r for r in results if not r.success and r.severity == "warning"]


def expectation_name(expectation: Mapping[str, Any]) -> str:
    """``type(column, bound=value, ...)``: enough to tell two expectations of a suite apart."""
    kwargs = dict(expectation.get("kwargs") or {})
    kwargs.pop("batch_id", None)
    parts: list[str] = []
    for key in ("column", "column_A", "column_B"):
        if key in kwargs:
            parts.append(str(kwargs.pop(key)))
    if "column_list" in kwargs:
        parts.append("[" + ", ".join(map(str, kwargs.pop("column_list"))) + "]")
    for key, value in kwargs.items():
        if isinstance(value, list | tuple | set) and len(value) > 4:
            value = f"<{len(value)} values>"
        parts.append(f"{key}={value}")
    return f"{expectation['type']}({', '.join(parts)})"


# --- results of one suite -------------------------------------------------------------


def check_result(
    suite: Suite, exp: Mapping[str, Any], success: bool, observed: str | None
) -> CheckResult:
    """The result of one expectation of ``suite``, with its severity and reason."""
    return CheckResult(
        suite=suite.name,
        name=expectation_name(exp),
        severity=exp["meta"]["severity"],
        success=success,
        observed_value=observed,
        why=exp["meta"]["why"],
    )


def unevaluated(suite: Suite, reason: str) -> list[CheckResult]:
    """A failed result for each expectation of a suite that could not be evaluated (its
    frame not read, GX failed): each fails with its own severity, so a broken frame
    blocks where it guards something blocking."""
    return [check_result(suite, exp, False, reason[:_MAX_TEXT]) for exp in suite.expectations]


# --- observed values, without identifiers -------------------------------------------


def _is_identifier(column: str) -> bool:
    return column == "student_key" or column.endswith("_id") or column == "student_ref"


def _concerns_identifier(exp: Mapping[str, Any]) -> bool:
    kwargs = exp.get("kwargs") or {}
    columns = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
    columns += list(kwargs.get("column_list") or [])
    return any(isinstance(c, str) and _is_identifier(c) for c in columns)


def _may_show_values(exp: Mapping[str, Any]) -> bool:
    """Values of rows are shown only where the suite says they are safe (show_values), and
    never from an identifier column whatever the suite says."""
    return bool((exp.get("meta") or {}).get("show_values")) and not _concerns_identifier(exp)


def observed(result: Any, exp: Mapping[str, Any], frame: Any) -> str | None:
    """What GX observed, as a short text that never copies an identifier."""
    message = _exception_message(result.exception_info)
    if message:
        return f"could not evaluate: {message}"[:_MAX_TEXT]
    details = result.result or {}
    if "observed_value" in details:  # aggregate expectations: a row count, a mean...
        value = details["observed_value"]
        if _concerns_identifier(exp) and not _is_number(value):
            return "not shown (an identifier column)"  # e.g. the max of an id column
        return _fmt(value)
    if "unexpected_count" not in details:
        return None
    show = _may_show_values(exp)
    column = (exp.get("kwargs") or {}).get("column")
    labelled = getattr(frame.index, "name", None) == ROW_LABEL
    if show and column in frame.columns and len(frame) == 1:  # a one-row profile frame
        text = _fmt(frame[column].iloc[0])
        return f"{frame.index[0]}: {text}" if labelled else text
    count, total = int(details["unexpected_count"]), int(details.get("element_count") or 0)
    text = f"{count} of {total} rows unexpected"
    if count == 0:
        return text
    labels = [
        item.get(ROW_LABEL) if isinstance(item, Mapping) else None
        for item in details.get("partial_unexpected_index_list") or []
    ]
    values = details.get("partial_unexpected_list") or []
    items = []
    for i in range(min(count, _MAX_SHOWN)):
        label = labels[i] if labelled and i < len(labels) else None
        value = _fmt(values[i]) if show and i < len(values) else None
        items.append(" = ".join(str(part) for part in (label, value) if part is not None))
    items = [item for item in items if item]
    if items:
        text += ": " + "; ".join(items) + ("; …" if count > len(items) else "")
    return text[:_MAX_TEXT]


def _is_number(value: Any) -> bool:
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fmt(value: Any) -> str:
    """A number rounded for reading, a date as ISO, a tuple as (a, b), None as null."""
    if value is None:
        return "null"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return "null"
        return str(int(value)) if value.is_integer() else f"{round(value, 3):g}"
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    return str(value)[:_MAX_TEXT]


def _exception_message(info: Any) -> str | None:
    """The first exception message in GX's exception_info (flat, or keyed by metric)."""
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return safe_message(info.get("exception_message") or "exception")
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return safe_message(value.get("exception_message") or "exception")
    return None


_SINGLE_QUOTED = re.compile(r"'[^']*'")


def safe_message(exc: object) -> str:
    """An error's first line with single-quoted literals blanked: DuckDB and pandas quote
    data values that way (e.g. a failed cast), and a value could be an identifier."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _SINGLE_QUOTED.sub("'…'", text)[:_MAX_TEXT]
