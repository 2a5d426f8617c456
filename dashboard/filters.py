"""The filters every page shares, so that every page filters the same way.

Each is a Streamlit widget that returns the viewer's choice and cannot return more than
the viewer may see: the institution filter offers only the scope's institutions, the
release period offers only periods that have ended (``smhp.reporting.release_periods``),
and a value planted in the session state that is not on offer is dropped before the
widget is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import streamlit as st

from smhp.access import Scope
from smhp.reporting.release_periods import KINDS, Kind, ReleasePeriod, released_periods

ALL_INSTITUTIONS = "__all__"


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


def release_period(
    key: str,
    first_day: date,
    as_of: date,
    default_kind: Kind = "funded",
    kinds: Sequence[Kind] = tuple(KINDS),
) -> ReleasePeriod | None:
    """Choose a release period: its kind (of ``kinds``: month, quarter, academic year,
    funded period), then one period of that kind that has ended by ``as_of`` (newest
    first).

    Pages whose figures may leave the board use this instead of a free date range
    (``smhp.reporting.release_periods``); ``None`` (with a note) when no period of the kind has
    ended yet. Widget keys: ``<key>_kind`` and ``<key>`` (the period's code).
    """
    kinds = list(kinds)
    if f"{key}_kind" in st.session_state and st.session_state[f"{key}_kind"] not in kinds:
        del st.session_state[f"{key}_kind"]  # e.g. months, after choosing one institution
    left, right = st.columns([2, 3])
    kind = left.selectbox(
        "Period type",
        kinds,
        index=kinds.index(default_kind) if default_kind in kinds else 0,
        format_func=KINDS.__getitem__,
        key=f"{key}_kind",
    )
    periods = {p.code: p for p in released_periods(first_day, as_of, kind)}
    if key in st.session_state and st.session_state[key] not in periods:
        del st.session_state[key]  # another kind's period, or one typed in: not offered
    if not periods:
        right.info(f"No {KINDS[kind].lower()} has ended yet in the data.")
        return None
    code = right.selectbox("Period", list(periods), format_func=lambda c: periods[c].label, key=key)
    return periods[code]


def choice(label: str, options: dict[str, str], key: str) -> str:
    """One of ``options`` (value to label) as a row of radio buttons: the value chosen."""
    return st.radio(label, list(options), format_func=options.__getitem__, horizontal=True, key=key)
