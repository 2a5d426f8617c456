"""The Streamlit pieces every page shares, so that each page stays short.

``figure`` and ``table`` are the only ways a page shows numbers: each draws the chart or
table, puts the definition and the numbers one click away (an expander) and offers a
CSV download of exactly the shown table — the scoped query's result, after disclosure
control, so a suppressed view downloads as suppressed. Each download is recorded in the
audit log when clicked (who, page, table, rows, filters). ``no_data`` is the one empty
state. The filters (institution, date range) are shared widgets so that every page
filters the same way; the institution filter offers only the viewer's institutions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from numbers import Real
from typing import Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import auth, context
from dashboard.data import Scope
from dashboard.theme import PLOTLY_CONFIG
from smhp.disclosure import FOOTNOTE

ALL_INSTITUTIONS = "__all__"


def header(title: str, question: str) -> None:
    """The page title and the question the page answers."""
    st.title(title)
    st.markdown(f"*{question}*")


def no_data(what: str) -> None:
    """The empty state: say what is empty and why, never fail."""
    st.info(f"No data for this filter: {what}")


def _displayable(shown: pd.DataFrame) -> pd.DataFrame:
    """The table for ``st.dataframe``: a column mixing numbers with ``*`` becomes text
    (Arrow holds one type per column); the CSV keeps the values as they are."""
    out = shown.copy()
    for column in out.columns:
        values = list(out[column])
        if any(isinstance(v, str) for v in values) and any(
            isinstance(v, Real) and not isinstance(v, bool) for v in values
        ):
            out[column] = [
                v if v is None or isinstance(v, str) or pd.isna(v) else f"{v:,}" for v in values
            ]
    return out


def _details(
    shown: pd.DataFrame,
    key: str,
    definitions: Sequence[str],
    column_config: dict | None,
    show_table: bool,
    not_in_csv: Sequence[str] = (),
) -> None:
    left, right = st.columns([5, 1], vertical_alignment="top")
    with left.expander("Definition and numbers" if show_table else "Definition"):
        for text in definitions:
            st.markdown(text)
        if show_table:
            st.dataframe(_displayable(shown), hide_index=True, column_config=column_config)
    ctx = context.peek()
    right.download_button(
        "Download CSV",
        csv_bytes(shown, not_in_csv),
        file_name=f"{key}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        on_click=_downloaded,
        args=(ctx.page_id if ctx else "", ctx.prefix if ctx else "", key, len(shown)),
    )


def csv_bytes(shown: pd.DataFrame, not_in_csv: Sequence[str] = ()) -> bytes:
    """The CSV download of a shown table: every row and column as shown (icons aside)."""
    return shown.drop(columns=list(not_in_csv)).to_csv(index=False).encode("utf-8")


def _downloaded(page_id: str, prefix: str, table: str, rows: int) -> None:
    """A download button's ``on_click``: the download goes to the audit log."""
    auth.guarded(lambda: auth.record_download(page_id, prefix, table, rows))


def figure(
    fig: go.Figure,
    shown: pd.DataFrame,
    *,
    key: str,
    definitions: Sequence[str],
    notes: Sequence[str] = (),
) -> None:
    """A chart of ``shown``, its definitions and numbers, and its CSV download."""
    st.plotly_chart(fig, key=f"{key}_chart", theme=None, config=PLOTLY_CONFIG)
    for note in notes:
        st.caption(note)
    _details(shown, key, definitions, None, show_table=True)


def table(
    shown: pd.DataFrame,
    *,
    key: str,
    title: str,
    definitions: Sequence[str],
    column_config: dict | None = None,
    notes: Sequence[str] = (),
    not_in_csv: Sequence[str] = (),
) -> None:
    """A titled table of ``shown``, its definitions, and its CSV download.

    ``not_in_csv``: columns that are pictures of other columns (icons), left out of the
    download, which keeps every number and text of the table.
    """
    st.subheader(title)
    st.dataframe(_displayable(shown), hide_index=True, column_config=column_config)
    for note in notes:
        st.caption(note)
    _details(shown, key, definitions, column_config, show_table=False, not_in_csv=not_in_csv)


def disclosure_footnote(applies: bool) -> None:
    """The metric spec's footnote, wherever disclosure control applies."""
    if applies:
        st.caption(FOOTNOTE + " Suppressed values are shown as * and left as gaps in charts.")


def institution_filter(key: str, scope: Scope, names: dict[str, str]) -> str | None:
    """Choose one of the scope's institutions, or all of them (``None``).

    ``names`` are the institutions the scope allows (code to name); a viewer with one
    institution gets no choice to make. A value put in the session state for this key
    that is not one of the viewer's institutions is dropped before the widget is drawn
    (the queries would return nothing for it anyway: ``Scope.narrowed_to``).
    """
    codes = [c for c in names if scope.allows(c)]
    if key in st.session_state and st.session_state[key] not in (ALL_INSTITUTIONS, *codes):
        del st.session_state[key]
    if len(codes) == 1 and scope.institutions is not None:
        st.selectbox("Institution", codes, format_func=names.__getitem__, key=key, disabled=True)
        return codes[0]
    everyone = "All institutions" if scope.institutions is None else "All my institutions"
    labels = {ALL_INSTITUTIONS: everyone, **names}
    chosen = st.selectbox(
        "Institution", [ALL_INSTITUTIONS, *codes], format_func=labels.__getitem__, key=key
    )
    return None if chosen == ALL_INSTITUTIONS else chosen


def date_range(
    key: str, default: tuple[date, date], bounds: tuple[date, date], label: str = "Period"
) -> tuple[date, date] | None:
    """A date range (inclusive); ``None`` (with a prompt) until both ends are chosen."""
    lo = min(bounds[0], default[0])
    hi = max(bounds[1], default[1])
    picked = st.date_input(label, value=default, min_value=lo, max_value=hi, key=key)
    if not isinstance(picked, tuple | list) or len(picked) != 2:
        st.info("Choose the end of the period as well as its start.")
        return None
    start, end = picked
    return start, end


def period_label(start: date, end: date) -> str:
    """``1 June 2019 to 31 July 2022``."""
    return f"{start.day} {start:%B %Y} to {end.day} {end:%B %Y}"


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


def fmt(value: object, pattern: str) -> str:
    """A shown value as text with ``pattern`` (e.g. ``"{:.1f}%"``); ``*`` stays ``*`` and
    a missing value is a dash."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return value if isinstance(value, str) else pattern.format(value)
