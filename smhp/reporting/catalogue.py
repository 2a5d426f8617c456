"""The metric catalogue: what every published metric is, read from its one source.

Each metric of ``marts.metrics_monthly`` is described once, in the dbt seed
``seeds/metric_catalogue.csv`` (published as ``marts.dim_metrics``): its family, label,
kind, unit, base, numerator, good direction, target with its source, the fact table and
event date it is counted from, and the metric spec's definition. dbt tests the published
metric names against it; this module is its one Python reader (as ``smhp.pipeline.contract``
reads the dbt sources yml), so the dashboard's labels, directions and targets, disclosure
control's bases, ``smhp impact``'s and the released counts' tables and dates, and the
generated ``docs/metrics.md`` all take it from there. Adding a metric is one CSV row and
its SQL in ``int_metrics__<family>``.

Conventions of the file (checked on loading):

- ``base``: for a percentage or median, the count metric it is computed over (empty when
  that count is not published: the figure is then hidden under disclosure control); for a
  rate, the count it is derived from. A base is always a count.
- ``numerator``: for a percentage, the true/false column of the fact table it counts over
  its base (the released "met" counts, e.g. ``seen_within_6wk``).
- ``unit``: what the value is measured in; for a count, what is counted. A count of
  ``students`` is a count of distinct ``student_key`` (metric rules), so it cannot be
  summed over institutions or months.
- ``month_of``: the event-date column as the spec writes it; ``event_date``: the date
  column of ``fact`` that places a record in a month or period (for liaison contacts the
  UK local date ``presented_on`` of the timestamp ``presented_at``).

Targets. The 6-week target of 75 % is the NHS Talking Therapies waiting-time standard
(75 % of people start treatment within 6 weeks of referral; 95 % within 18 weeks). The
metric spec names the other two standards (U-COPE assessment within two weeks, the
university informed within 72 hours) but no target share: 90 % is used for both as an
assumption, labelled as such wherever it is shown, until the board sets its own.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Literal, cast, get_args

from smhp.settings import PIPELINE_DIR, SEEDS_DIR

__all__ = [
    "ADDITIVE_COUNTS",
    "CATALOGUE_CSV",
    "METRICS",
    "PERCENT_BASES",
    "STANDARD_METRICS",
    "WAIT_18WK_DAYS",
    "WAIT_18WK_TARGET",
    "Direction",
    "Kind",
    "MetricInfo",
    "info",
    "load",
    "markdown",
    "with_bases",
]

CATALOGUE_CSV = SEEDS_DIR / "metric_catalogue.csv"
"""The catalogue itself (the dbt seed ``metric_catalogue``)."""

METRICS_DOC = PIPELINE_DIR / "models" / "marts" / "_metrics.md"
"""The general metric rules (dbt docs blocks), quoted by the generated docs page."""

Kind = Literal["count", "pct", "median", "rate"]

WAIT_18WK_DAYS = 126
"""The 18-week mark of the NHS Talking Therapies standard, in days (18 × 7), inclusive like
the 42 days of the 6-week flag. Not a monthly metric: the funder standards and the service
page's wait bands count first appointments within it."""
WAIT_18WK_TARGET = 95.0
"""The NHS Talking Therapies 18-week standard: 95 % start treatment within 18 weeks."""

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_AXIS_TITLES: dict[str, str] = {
    "count": "Number",
    "pct": "Percent",
    "median": "Days (median)",
    "rate": "Per 1,000 students",
}


class Direction(StrEnum):
    """Which way is better for a metric (the SPC icons' improvement or concern)."""

    HIGHER = "higher"
    LOWER = "lower"
    NEITHER = "neither"


@dataclass(frozen=True)
class MetricInfo:
    """One row of the catalogue (see the module docstring for each column's meaning)."""

    metric: str
    family: str
    label: str
    kind: Kind
    unit: str
    base: str | None
    numerator: str | None
    direction: Direction
    target: float | None
    target_source: str | None
    fact: str
    month_of: str
    event_date: str
    definition: str

    @property
    def counts_students(self) -> bool:
        """Whether the metric counts distinct students (never summed over rows)."""
        return self.kind == "count" and self.unit == "students"

    @property
    def target_note(self) -> str | None:
        """The sentence shown beside a target: its value and where it comes from."""
        if self.target is None:
            return None
        return f"Target {self.target:.0f}%: {self.target_source}."

    @property
    def axis_title(self) -> str:
        """The axis title of a chart of this metric."""
        return _AXIS_TITLES[self.kind]

    @property
    def definition_line(self) -> str:
        """The definition as one Markdown line, as shown beside every chart of it."""
        return f"**`{self.metric}`** (month of `{self.month_of}`): {self.definition}"

    def meets_standard(self, value: float) -> bool:
        """Whether ``value`` meets the target, on the metric's good side of it or on it (no
        target: always). The one rule of the board's badge, the packs and the alerts."""
        if self.target is None:
            return True
        if self.direction == Direction.LOWER:
            return value <= self.target
        return value >= self.target

    def against_standard(self, value: object) -> str | None:
        """Where a shown value stands against the standard, in words (the board's tile badge
        and the packs' tiles): ``Meets the 75% standard``, ``Below ...``, ``... not
        measurable`` for a hidden or missing value; None without a standard."""
        if self.target is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            return f"Standard {self.target:.0f}%: not measurable"
        word = "Meets" if self.meets_standard(value) else "Below"
        return f"{word} the {self.target:.0f}% standard"

    def format(self, value: float | str | None) -> str:
        """A shown value as text: ``1,234``, ``87.5%``, ``12.5 days``, ``*`` or a dash."""
        if value is None:
            return "—"
        if isinstance(value, str):
            return value
        if self.kind == "count":
            return f"{value:,.0f}"
        if self.kind == "pct":
            return f"{value:.1f}%"
        if self.kind == "median":
            return f"{value:.1f} days"
        return f"{value:.1f}"


def _row(raw: Mapping[str, str]) -> MetricInfo:
    """One CSV row as a ``MetricInfo``: empty cells are ``None``, each value checked."""
    cells = {k: (v.strip() or None) for k, v in raw.items()}
    name = cells["metric"] or "?"
    kind = cells["kind"]
    if kind not in get_args(Kind):
        raise ValueError(f"{name}: kind {kind!r} is not one of {get_args(Kind)}")
    # identifiers end up in SQL (smhp.reporting.impact, released): only plain names
    for column in ("metric", "family", "base", "numerator", "fact", "month_of", "event_date"):
        value = cells[column]
        if value is not None and not _IDENTIFIER.match(value):
            raise ValueError(f"{name}: {column} {value!r} is not a plain identifier")
    target = cells["target"]
    if (target is None) != (cells["target_source"] is None):
        raise ValueError(f"{name}: target and target_source: each needs the other")
    return MetricInfo(
        metric=name,
        family=cells["family"] or "",
        label=cells["label"] or "",
        kind=cast(Kind, kind),
        unit=cells["unit"] or "",
        base=cells["base"],
        numerator=cells["numerator"],
        direction=Direction(cells["direction"]),
        target=None if target is None else float(target),
        target_source=cells["target_source"],
        fact=cells["fact"] or "",
        month_of=cells["month_of"] or "",
        event_date=cells["event_date"] or "",
        definition=cells["definition"] or "",
    )


@cache
def load(path: Path = CATALOGUE_CSV) -> dict[str, MetricInfo]:
    """The catalogue, by metric name, in the file's order (the display order).

    Checks what the dbt seed tests check too (unique names, a base is a catalogued count),
    so that a broken row stops the dashboard at import rather than showing a wrong page.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {f.name for f in fields(MetricInfo)} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path.name}: missing columns {sorted(missing)}")
        rows: dict[int, MetricInfo] = {}  # by line of the file (the header is line 1)
        for line, raw in enumerate(reader, start=2):
            try:
                rows[line] = _row(raw)
            except ValueError as exc:
                raise ValueError(f"{path.name} line {line}: {exc}") from None
    out: dict[str, MetricInfo] = {}
    for line, row in rows.items():
        if row.metric in out:
            raise ValueError(f"{path.name} line {line}: metric {row.metric} is listed twice")
        out[row.metric] = row
    for line, row in rows.items():
        if row.base is not None and (row.base not in out or out[row.base].kind != "count"):
            raise ValueError(
                f"{path.name} line {line}: base {row.base!r} of {row.metric} is not a "
                "catalogued count"
            )
    return out


METRICS: dict[str, MetricInfo] = load()
"""Every published metric, by name, in display order."""

STANDARD_METRICS: tuple[str, ...] = tuple(
    m.metric for m in METRICS.values() if m.target is not None
)
"""The service standards (the metrics with a target), in display order."""

ADDITIVE_COUNTS: frozenset[str] = frozenset(
    m.metric for m in METRICS.values() if m.kind == "count" and not m.counts_students
)
"""The counts that can be summed over institutions (not distinct students)."""

PERCENT_BASES: dict[str, str] = {
    m.metric: m.base for m in METRICS.values() if m.kind == "pct" and m.base is not None
}
"""Each percentage with a published base, and that base (the weight to combine it by)."""


def info(metric: str) -> MetricInfo:
    """The catalogue entry of ``metric`` (a KeyError names an unknown metric)."""
    return METRICS[metric]


def with_bases(metrics: tuple[str, ...]) -> tuple[str, ...]:
    """``metrics`` and the counts their disclosure depends on, sorted and distinct."""
    bases = {METRICS[m].base for m in metrics}
    return tuple(sorted(set(metrics) | {b for b in bases if b}))


def _docs_block(name: str, path: Path = METRICS_DOC) -> str:
    """The text of one dbt docs block of ``_metrics.md`` (the general rules)."""
    pattern = rf"{{%\s*docs\s+{name}\s*%}}(.*?){{%\s*enddocs\s*%}}"
    found = re.search(pattern, path.read_text(encoding="utf-8"), re.S)
    if found is None:
        raise KeyError(f"no docs block {name} in {path.name}")
    return found.group(1).strip()


def _cell(text: str | None) -> str:
    return "" if text is None else text.replace("|", "\\|")


def markdown(metrics: Mapping[str, MetricInfo] = METRICS) -> str:
    """``docs/metrics.md``: the catalogue as one table per family, after the general rules.

    Generated (``python -m smhp.reporting.catalogue --markdown``), never edited by hand: a
    test holds the committed page equal to this.
    """
    lines = [
        "# Metrics",
        "",
        "<!-- Generated from seeds/metric_catalogue.csv by "
        "`python -m smhp.reporting.catalogue --markdown > docs/metrics.md`; do not edit. -->",
        "",
        "Every metric of `marts.metrics_monthly`, from the one catalogue "
        "`seeds/metric_catalogue.csv` (published as `marts.dim_metrics`). The SQL of a "
        "family is `pipeline/models/intermediate/metrics/int_metrics__<family>.sql`.",
        "",
        "## Rules",
        "",
        _docs_block("metrics_rules"),
        "",
    ]
    families = dict.fromkeys(m.family for m in metrics.values())
    for family in families:
        rows = [m for m in metrics.values() if m.family == family]
        lines += [
            f"## {family}",
            "",
            f"From `{rows[0].fact}`.",
            "",
            "| metric | label | kind | base | better | target | month of | value |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for m in rows:
            base = f"`{m.base}`" if m.base else ""
            lines.append(
                f"| `{m.metric}` | {_cell(m.label)} | {m.kind} ({_cell(m.unit)}) | {base} "
                f"| {m.direction} | {_cell(m.target_note)} | `{m.month_of}` "
                f"| {_cell(m.definition)} |"
            )
        lines.append("")
    lines += [
        "## Notes",
        "",
        _docs_block("metrics_students_enrolled"),
        "",
        _docs_block("metrics_core10"),
        "",
        f"The 18-week standard (funder page, not a monthly metric): {WAIT_18WK_TARGET:.0f}% "
        f"of first appointments within {WAIT_18WK_DAYS} days.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m smhp.reporting.catalogue --markdown``: print the generated docs page."""
    parser = argparse.ArgumentParser(prog="python -m smhp.reporting.catalogue")
    parser.add_argument("--markdown", action="store_true", help="print docs/metrics.md")
    args = parser.parse_args(argv)
    if not args.markdown:
        parser.print_help()
        return 2
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
