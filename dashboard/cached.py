"""Cached versions of the ``dashboard.data`` queries, for the Streamlit pages.

The cache key includes the resolved snapshot path (``smhp.warehouse.resolve_published``),
not the published link: each publish run writes a new snapshot file, so a new run gives new
keys and the pages read fresh data without any explicit invalidation, while reruns of a page
on the same snapshot cost no query. The scope is part of the key too, so viewers with
different scopes never share a cached result.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.data import AsOf, Scope


@st.cache_data(show_spinner=False, max_entries=256)
def monthly_metrics(snapshot: str, scope: Scope, metrics: tuple[str, ...]) -> pd.DataFrame:
    """``dashboard.data.monthly_metrics``, cached per snapshot and scope."""
    return data.monthly_metrics(snapshot, scope, metrics)


@st.cache_data(show_spinner=False, max_entries=64)
def as_of(snapshot: str, scope: Scope) -> AsOf:
    """``dashboard.data.as_of``, cached per snapshot and scope."""
    return data.as_of(snapshot, scope)


@st.cache_data(show_spinner=False, max_entries=64)
def institution_joins(snapshot: str, scope: Scope) -> pd.DataFrame:
    """``dashboard.data.institution_joins``, cached per snapshot and scope."""
    return data.institution_joins(snapshot, scope)
