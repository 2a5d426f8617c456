"""The Streamlit pieces every page shares, so that each page stays short.

``figure`` and ``table`` are the only ways a page shows numbers: each draws the chart or
table and puts the definition, the numbers and a CSV download one click away (a section
drawn only when opened). The download is of exactly the shown table — the scoped query's
result, after disclosure control, so a suppressed view downloads as suppressed — and is
recorded in the audit log when clicked (who, page, table, rows, filters). ``no_data`` is
the one empty state. The filters every page shares are in ``dashboard.filters``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date
from numbers import Real
from typing import Literal

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import charts, context, downloads
from dashboard.auth import trail
from dashboard.theme import PLOTLY_CONFIG
from smhp.reporting.disclosure import FOOTNOTE


def header(title: str, question: str) -> None:
    """The page title and the question the page answers."""
    st.title(title)
    st.markdown(f"*{question}*")


def events_header(ctx: context.PageContext, title: str, question: str) -> date | None:
    """The header of a page of events, then the latest complete month it describes;
    ``None``, after saying so, while the published warehouse holds no events yet."""
    header(title, question)
    month = ctx.as_of.complete_month
    if month is None:
        no_data("the published warehouse holds no events yet.")
    return month


def no_data(what: str) -> None:
    """The empty state: say what is empty and why, never fail."""
    st.info(f"No data for this filter: {what}")


def _displayable(shown: pd.DataFrame) -> pd.DataFrame:
    """The table for ``st.dataframe``: a column mixing numbers with ``*`` becomes text
    (Arrow holds one type per column); the CSV keeps the values as they are."""
    out = shown.copy()
    for column in out.columns:
        if out[column].dtype != object or not pd.api.types.infer_dtype(
            out[column], skipna=True
        ).startswith("mixed"):  # one type already (pandas' own check, over the column)
            continue
        values = list(out[column])
        if any(isinstance(v, str) for v in values) and any(
            isinstance(v, Real) and not isinstance(v, bool) for v in values
        ):
            out[column] = [
                v if v is None or isinstance(v, str) or pd.isna(v) else f"{v:,}" for v in values
            ]
    return out


def numbers_anchor(key: str) -> str:
    """The id of the place just before the section under a chart (its link's target):
    following the link moves the keyboard focus there, one Tab from the section."""
    return f"numbers-{key}"


def _markdown_text(text: str) -> str:
    """Plain text as Markdown that shows it as it is (``*``, ``$``, ``_`` and the like)."""
    return re.sub(r"([\\`*_\[\]<>$~|#])", r"\\\1", text)


DETAILS_LABELS = {True: "Definition, numbers and download", False: "Definition and download"}
"""The label of the section under a chart (its table shown there) and under a table."""


def details_key(key: str) -> str:
    """The key of the "Definition ..." section of the chart or table ``key`` (its state:
    open or closed, ``st.session_state[details_key(key)]``)."""
    return f"{key}_details"


def _details(
    shown: pd.DataFrame,
    key: str,
    definitions: Sequence[str],
    column_config: dict | None,
    show_table: bool,
    not_in_csv: Sequence[str] = (),
    name: str = "",
) -> None:
    """The closed section under a chart or table: its definitions, the chart's numbers and
    the CSV download. Drawn only while open: opening it reruns the page (Streamlit's
    stateful expander, ``on_change="rerun"``), so the closed sections of a page cost
    nothing on each view, where drawing their tables and binding their downloads was a
    third of a cached page view's server time."""
    if show_table:  # the target of the chart's "numbers" link, read out when focused
        st.markdown(
            f'<span id="{numbers_anchor(key)}" tabindex="-1" class="smhp-numbers">'
            f"The numbers of the chart {html.escape(name)}: open "
            f"{DETAILS_LABELS[True]}.</span>",
            unsafe_allow_html=True,
        )
    section = st.expander(DETAILS_LABELS[show_table], key=details_key(key), on_change="rerun")
    if not section.open:
        return
    with section:
        for text in definitions:
            st.markdown(text)
        if show_table:
            st.dataframe(
                _displayable(shown),
                hide_index=True,
                column_config=column_config,
                alt=f"The numbers of the chart {name}" if name else None,
            )
        downloads.button(shown, key, not_in_csv)


def figure(
    chart: charts.Drawn,
    shown: pd.DataFrame,
    *,
    key: str,
    definitions: Sequence[str],
    notes: Sequence[str] = (),
) -> None:
    """A chart of ``shown``, its text alternative, its definitions and numbers, and its
    CSV download.

    The chart's accessible name is its kind and title; right under it, a caption
    describes it in words (``charts.describe``: the period, latest value, range, flagged
    points) and links to its numbers, the table in the section under it (WCAG 1.1.1).
    Both were worked out when the chart was built (``charts.drawn``), with its figure.
    """
    st.plotly_chart(
        chart.figure(), key=f"{key}_chart", theme=None, config=PLOTLY_CONFIG, alt=chart.alt
    )
    with st.container(key=f"about_{key}"):
        st.caption(
            f"**About this chart.** {_markdown_text(chart.description)} "
            f"[Go to the numbers of this chart](#{numbers_anchor(key)})"
        )
    for note in notes:
        st.caption(note)
    _details(shown, key, definitions, None, show_table=True, name=chart.title)


def table(
    shown: pd.DataFrame,
    *,
    key: str,
    title: str,
    definitions: Sequence[str],
    column_config: dict | None = None,
    notes: Sequence[str] = (),
    not_in_csv: Sequence[str] = (),
    record_level: bool = False,
) -> None:
    """A titled table of ``shown``, its definitions, and its CSV download.

    ``not_in_csv``: columns that are pictures of other columns (icons), left out of the
    download, which keeps every number and text of the table. ``record_level``: the rows
    are records (pseudonymous), so showing them is recorded in the audit log first, and
    nothing is shown if that cannot be recorded.
    """
    st.subheader(title)
    ctx = context.peek()
    if record_level and not trail.guarded(
        lambda: trail.record_records_shown(
            ctx.page_id if ctx else "", ctx.prefix if ctx else "", key, len(shown)
        )
    ):
        return
    st.dataframe(_displayable(shown), hide_index=True, column_config=column_config, alt=title)
    for note in notes:
        st.caption(note)
    _details(shown, key, definitions, column_config, show_table=False, not_in_csv=not_in_csv)


def disclosure_footnote(applies: bool) -> None:
    """The metric spec's footnote, wherever disclosure control applies."""
    if applies:
        st.caption(FOOTNOTE + " Suppressed values are shown as * and left as gaps in charts.")


def tile(
    column: DeltaGenerator,
    label: str,
    value: str,
    *,
    delta: str | None = None,
    help: str | None = None,
    delta_color: Literal["normal", "inverse", "off"] = "normal",
) -> None:
    """One headline figure (``st.metric``) in a column."""
    column.metric(label, value, delta=delta, delta_color=delta_color, help=help)
