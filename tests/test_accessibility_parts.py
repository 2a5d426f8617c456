"""The accessibility parts that need no browser: chart descriptions, the palette's
contrast, the statement and its setting.

The browser checks (axe-core on every page, the keyboard) are in ``tests/e2e/``; here,
``charts.describe`` is checked on real figures from the dashboard's own builders, the
theme's colours against WCAG's contrast ratios, and the accessibility statement against
the model's required sections and the axe-core version the tests pin.
"""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import charts, theme
from dashboard.views import accessibility
from smhp.reporting.spc import Direction, analyse
from smhp.settings import REPO_ROOT, Settings, SettingsError

MONTHS = [date(2024, m, 1).isoformat() for m in range(1, 13)] + [
    date(2025, m, 1).isoformat() for m in range(1, 4)
]


def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str = "#FFFFFF") -> float:
    """WCAG 2.2's contrast ratio of two colours."""
    high, low = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# --- chart descriptions ----------------------------------------------------------------


def test_an_spc_chart_is_described_with_period_latest_range_flags_and_references() -> None:
    values = [80.0, 81.0, 79.0, 80.5, 79.5, 80.0, 81.5, 78.5, 80.0, 79.0, 80.5, 81.0, 80.0]
    values += [40.0, 80.0]  # February 2025 far below: a special cause of concern
    result = analyse(values, Direction.HIGHER, target=75.0)
    fig = charts.spc_chart(
        MONTHS, result, title="Seen within 6 weeks", y_title="Percent", target=75, percent=True
    )
    text = charts.describe(fig)
    assert text.startswith("SPC chart of percent by month: Seen within 6 weeks.")
    assert "From January 2024 to March 2025." in text
    assert "Monthly value: latest 80 in March 2025;" in text
    assert "lowest 40 in February 2025, highest 81.5 in July 2024." in text
    assert "Flagged, special cause: concern: February 2025." in text
    assert "Reference lines: mean " in text and "; target 75." in text
    assert "upper process limit" in text and "lower process limit" in text
    assert charts.alt_text(fig) == "SPC chart: Seen within 6 weeks"


def test_bars_are_described_by_category_with_gaps_and_marks_counted() -> None:
    shown = pd.DataFrame(
        {
            "Weeks waited": ["1", "2", "3", "4"],
            "Band": ["Within 6 weeks"] * 2 + ["Over 18 weeks"] * 2,
            "Referrals": [12, "*", 30, 0],
        }
    )
    fig = charts.bars(
        shown,
        "Weeks waited",
        "Referrals",
        color="Band",
        title="Weeks waited for a first appointment",
        x_title="Weeks waited",
        y_title="Referrals",
    )
    charts.add_vertical_marks(fig, {1.5: "6 weeks"})
    text = charts.describe(fig)
    assert text.startswith("Bar chart of referrals by weeks waited:")
    assert "4 categories: 1, 2, 3, 4." in text
    assert "Within 6 weeks: 12 at 1." in text  # the suppressed week is no value
    assert "Over 18 weeks: lowest 0 at 4, highest 30 at 3." in text
    assert "Marked: 6 weeks." in text
    assert "1 value is suppressed or missing, left as a gap." in text
    assert "latest" not in text  # categories, not time


def test_marks_added_to_a_horizontal_chart_are_read_along_its_categories() -> None:
    shown = pd.DataFrame({"Standard": ["Seen within 6 weeks", "Informed"], "Percent": [81.2, "*"]})
    fig = charts.bars(
        shown,
        "Standard",
        "Percent",
        horizontal=True,
        title="Standards",
        x_title="Percent",
        y_title=None,
    )
    fig.add_scatter(x=[75, 90], y=list(shown["Standard"]), mode="markers", name="Target")
    text = charts.describe(fig)
    assert text.startswith("Horizontal bar chart of percent: Standards.")
    assert "Percent: 81.2 at Seen within 6 weeks." in text
    assert "Target: lowest 75 at Seen within 6 weeks, highest 90 at Informed." in text
    assert "1 value is suppressed or missing, left as a gap." in text


def test_times_of_day_are_said_as_moments_in_order() -> None:
    runs = ["2026-11-29 21:11:47.460558", "2026-11-29 09:05:00"]
    shown = pd.DataFrame({"Run started": runs, "Seconds": [4.2, 7.7]})
    fig = charts.bars(
        shown,
        "Run started",
        "Seconds",
        title="Time per run",
        x_title="Run started",
        y_title="Seconds",
    )
    text = charts.describe(fig)
    assert "From 29 November 2026 at 09:05 to 29 November 2026 at 21:11." in text
    assert "Seconds: latest 4.2 on 29 November 2026 at 21:11;" in text  # not the last drawn


def _panels(frame: pd.DataFrame, title: str, y_title: str) -> go.Figure:
    """One small-multiples panel per institution of ``frame``, titled with its code."""
    codes = list(dict.fromkeys(frame["institution_code"]))
    return charts.small_multiples(
        frame,
        panel="institution_code",
        x="month",
        y="value",
        title=title,
        y_title=y_title,
        panel_titles={c: c for c in codes},
    )


def test_small_multiples_name_each_panel_and_many_series_are_summed_up() -> None:
    codes = [f"I{i}" for i in range(8)]
    frame = pd.DataFrame(
        [(c, m, float(i + j)) for i, c in enumerate(codes) for j, m in enumerate(MONTHS[:3])],
        columns=["institution_code", "month", "value"],
    )
    fig = _panels(frame, "Referrals per 1,000 students, by institution", "Per 1,000")
    text = charts.describe(fig)
    assert text.startswith(
        "Small multiples on one scale, a panel per series: "
        "Referrals per 1,000 students, by institution."
    )
    assert "I0: latest 2 in March 2024; lowest 0 in January 2024, highest 2 in March 2024." in text
    assert "I5:" in text and "I6:" not in text
    assert "2 more series are in the table." in text


def test_small_multiples_of_a_national_roll_out_build() -> None:
    """270 panels (``smhp demo-data --scale 45``): 90 rows, which plotly refused with the
    fixed gap between rows that suits a city's six (found by bench/)."""
    codes = [f"I{i:03d}" for i in range(270)]
    frame = pd.DataFrame(
        [(c, m, 1.0) for c in codes for m in MONTHS[:2]],
        columns=["institution_code", "month", "value"],
    )
    fig = _panels(frame, "Referrals", "Referrals")
    assert len(fig.data) == 270 and fig.layout.height == 360 * 90 + 100


def test_more_institutions_than_panels_are_compared_by_their_spread() -> None:
    """Up to ``MAX_PANELS`` institutions one panel each; more (a national roll-out) in one
    chart of the highest, percentiles, median and lowest of each month, over the
    institutions with a value, described in words like every chart."""
    few = pd.DataFrame(
        [(f"I{i}", m, float(i)) for i in range(charts.MAX_PANELS) for m in MONTHS[:2]],
        columns=["institution_code", "month", "value"],
    ).assign(institution_name="An institution")
    assert len(charts.institutions_side_by_side(few, "Rate", "Per 1,000").data) == 24
    rows = [(f"I{i:03d}", m, float(i)) for i in range(270) for m in MONTHS[:2]]
    rows.append(("I999", MONTHS[0], None))  # no value: left out of the spread
    many = pd.DataFrame(rows, columns=["institution_code", "month", "value"])
    fig = charts.institutions_side_by_side(
        many.assign(institution_name="An institution"), "Rate", "Per 1,000"
    )
    assert [t.name for t in fig.data] == list(charts.SPREAD)
    by_name = {t.name: list(t.y) for t in fig.data}
    assert by_name["Highest"] == [269.0, 269.0] and by_name["Lowest"] == [0.0, 0.0]
    assert by_name["Median"] == [134.5, 134.5]
    assert by_name["90th percentile"] == [pytest.approx(0.9 * 269)] * 2  # interpolated
    assert "spread over 271 institutions" in fig.layout.title.text
    assert "Median" in charts.describe(fig)


# --- colours -----------------------------------------------------------------------------


def test_every_chart_colour_has_3_to_1_and_text_colours_4_5_to_1_on_white() -> None:
    graphics = [*theme.OKABE_ITO, theme.NEUTRAL, theme.LIGHT, theme.IMPROVEMENT, theme.CONCERN]
    assert min(contrast(c, theme.GROUND) for c in graphics) >= 3.0
    for text in (theme.TARGET, theme.TEXT, theme.CAPTION, theme.NEUTRAL):
        assert contrast(text, theme.GROUND) >= 4.5, text
    assert contrast(theme.CAPTION, "#F0F2F6") >= 4.5  # Streamlit's grey panels too


# --- the statement -----------------------------------------------------------------------


def test_the_statement_has_the_model_sections_and_names_the_tested_axe_version() -> None:
    title, body = accessibility.statement("access@uni.example.org")
    assert title == "Accessibility statement for the SMHP dashboard"
    for section in (
        "## How accessible this dashboard is",
        "## Feedback and contact information",
        "## Reporting accessibility problems with this dashboard",
        "## Enforcement procedure",
        "### Compliance status",
        "## Non-accessible content",
        "### Non-compliance with the accessibility regulations",
        "## How we tested this dashboard",
        "## Preparation of this accessibility statement",
    ):
        assert section in body, section
    assert "Equality and Human Rights Commission (EHRC)" in body
    assert "Equality Commission for Northern Ireland (ECNI)" in body
    assert "partially compliant" in body
    assert "[access@uni.example.org](mailto:access@uni.example.org)" in body
    assert "{contact}" not in body
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["axe-core"]
    locked = json.loads((REPO_ROOT / "package-lock.json").read_text())
    assert locked["packages"]["node_modules/axe-core"]["version"] == pinned
    assert f"axe-core {pinned}" in body  # the statement says what was run
    assert "$" not in body  # Streamlit would read it as mathematics


def test_the_contact_is_a_setting_with_a_placeholder_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SMHP_ACCESSIBILITY_CONTACT", raising=False)
    assert Settings.from_env().accessibility_contact == "accessibility@example.org"
    monkeypatch.setenv("SMHP_ACCESSIBILITY_CONTACT", "https://uni.example.org/report")
    contact = Settings.from_env().accessibility_contact
    assert accessibility.contact_markdown(contact) == f"[{contact}]({contact})"
    assert accessibility.contact_markdown("the IT service desk") == "the IT service desk"
    monkeypatch.setenv("SMHP_ACCESSIBILITY_CONTACT", "  ")
    with pytest.raises(SettingsError, match="SMHP_ACCESSIBILITY_CONTACT"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("url", "asked"),
    [
        ("http://localhost:8501/accessibility", True),
        ("https://smhp.example.org/dash/accessibility/", True),
        ("http://localhost:8501/", False),
        ("http://localhost:8501/service", False),
        (None, False),
    ],
)
def test_the_statement_is_asked_for_by_its_address(url: str | None, asked: bool) -> None:
    assert accessibility.asked_before_sign_in(url) is asked
