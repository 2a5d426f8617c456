"""What the dashboard needs to know about each published metric, in one place.

For every metric of ``marts.metrics_monthly`` that a page shows: a plain-English label,
its kind (a count, a percentage, a median or a rate), the count it is computed over (its
*base*, which disclosure control needs), which way is better (for the SPC icons) and, for
the three service standards, the target. The definitions themselves are the metric spec's
(``dashboard.definitions``); this module never redefines a metric.

Targets. The 6-week target of 75 % is the NHS Talking Therapies waiting-time standard
(75 % of people start treatment within 6 weeks of referral; 95 % within 18 weeks). The
metric spec names the other two standards (U-COPE assessment within two weeks, the
university informed within 72 hours) but no target share: 90 % is used for both as an
assumption, labelled as such on every page, until the board sets its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dashboard.spc import Direction

Kind = Literal["count", "pct", "median", "rate"]


@dataclass(frozen=True)
class MetricInfo:
    """How the dashboard shows one metric.

    ``base``: for a percentage or median, the count metric it is computed over (``None``
    when that count is not published: the figure is then hidden under disclosure
    control); for a rate, the count it is derived from.
    """

    metric: str
    label: str
    kind: Kind
    direction: Direction = Direction.NEITHER
    base: str | None = None
    target: float | None = None
    target_note: str | None = None

    @property
    def unit(self) -> str:
        """The axis title of a chart of this metric."""
        return {
            "count": "Number",
            "pct": "Percent",
            "median": "Days (median)",
            "rate": "Per 1,000 students",
        }[self.kind]

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


NHS_6WK_NOTE = (
    "Target 75%: the NHS Talking Therapies waiting-time standard (75% of people start "
    "treatment within 6 weeks of referral)."
)
ASSUMED_NOTE = (
    "Target 90%: an assumed partnership target until the board sets one (the metric spec "
    "names the standard, not a target share)."
)
WAIT_18WK_TARGET = 95.0
"""The NHS Talking Therapies 18-week standard: 95 % start treatment within 18 weeks."""

_METRICS = (
    MetricInfo("liaison_contacts", "Liaison contacts", "count"),
    MetricInfo("liaison_students", "Students seen by the liaison service", "count"),
    MetricInfo(
        "liaison_referral_pct", "Liaison contacts referred on", "pct", base="liaison_contacts"
    ),
    MetricInfo(
        "liaison_informed_72h_pct",
        "University informed within 72 hours",
        "pct",
        Direction.HIGHER,
        base="liaison_contacts",
        target=90.0,
        target_note=ASSUMED_NOTE,
    ),
    MetricInfo("case_discussions", "Case discussions", "count"),
    MetricInfo(
        "case_pathway_started_14d_pct",
        "Pathway started within 14 days",
        "pct",
        Direction.HIGHER,
        base="case_discussions",
    ),
    MetricInfo("referrals_received", "Referrals received", "count"),
    MetricInfo(
        "referrals_per_1000_students",
        "Referrals per 1,000 students",
        "rate",
        base="referrals_received",
    ),
    MetricInfo(
        "referral_dna_pct",
        "Referrals that did not attend",
        "pct",
        Direction.LOWER,
        base="referrals_received",
    ),
    MetricInfo("referral_completed_waits", "First appointments", "count"),
    MetricInfo(
        "referral_median_wait_days",
        "Median wait for a first appointment",
        "median",
        Direction.LOWER,
        base="referral_completed_waits",
    ),
    MetricInfo(
        "referral_seen_6wk_pct",
        "Seen within 6 weeks",
        "pct",
        Direction.HIGHER,
        base="referral_completed_waits",
        target=75.0,
        target_note=NHS_6WK_NOTE,
    ),
    MetricInfo("ucope_referrals", "U-COPE referrals", "count"),
    MetricInfo("ucope_students", "Students referred to U-COPE", "count"),
    MetricInfo("ucope_assessed", "U-COPE assessments", "count"),
    MetricInfo(
        "ucope_median_days_to_assessment",
        "Median days to U-COPE assessment",
        "median",
        Direction.LOWER,
        base="ucope_assessed",
    ),
    MetricInfo(
        "ucope_assessed_14d_pct",
        "U-COPE assessed within 14 days",
        "pct",
        Direction.HIGHER,
        base="ucope_assessed",
        target=90.0,
        target_note=ASSUMED_NOTE,
    ),
    MetricInfo("ucope_discharges", "U-COPE discharges", "count"),
    MetricInfo(
        "ucope_completion_pct",
        "U-COPE completed",
        "pct",
        Direction.HIGHER,
        base="ucope_discharges",
    ),
    # Its base (discharges with both CORE-10 scores) is not published monthly: hidden
    # under disclosure control rather than judged on a larger base.
    MetricInfo(
        "ucope_reliable_improvement_pct",
        "U-COPE reliable improvement",
        "pct",
        Direction.HIGHER,
    ),
)

METRICS: dict[str, MetricInfo] = {m.metric: m for m in _METRICS}
"""Every published metric the dashboard shows, by name."""

STANDARD_METRICS: tuple[str, ...] = tuple(m.metric for m in _METRICS if m.target is not None)
"""The three service standards, in display order."""


def info(metric: str) -> MetricInfo:
    """The catalogue entry of ``metric`` (a KeyError names an unknown metric)."""
    return METRICS[metric]


def with_bases(metrics: tuple[str, ...]) -> tuple[str, ...]:
    """``metrics`` and the counts their disclosure depends on, sorted and distinct."""
    bases = {METRICS[m].base for m in metrics if METRICS[m].base}
    return tuple(sorted(set(metrics) | {b for b in bases if b}))


BOARD_TILES: tuple[str, ...] = ("liaison_contacts", "referrals_received", *STANDARD_METRICS)
"""The board's headline tiles: demand, then the three standards."""

BOARD_KEY_METRICS: tuple[str, ...] = (
    "referrals_received",
    "referral_seen_6wk_pct",
    "referral_median_wait_days",
    "ucope_assessed_14d_pct",
    "liaison_informed_72h_pct",
    "liaison_contacts",
    "ucope_referrals",
)
"""The metrics the board follows with SPC charts."""
