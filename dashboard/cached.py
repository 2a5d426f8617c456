"""Cached versions of the dashboard's queries, for the Streamlit pages.

The cache key includes the resolved snapshot path (``smhp.warehouse.resolve_published``),
not the published link: each publish run writes a new snapshot file, so a new run gives new
keys and the pages read fresh data without any explicit invalidation, while reruns of a page
on the same snapshot cost no query. The scope is part of the key too (every query takes
it), so viewers with different scopes never share a cached result.

Every query is wrapped the same way, by ``_cached``; a page imports this module, never
the query modules, so nothing reaches the warehouse uncached.

The charts are cached too (``chart``: the chart functions of ``dashboard.charts`` below, and
a page's own chart functions decorated with it): building a plotly figure object costs 10-70 ms
(plotly validates every property it is given), most of a page view's server time when the
data is already cached. A chart is a function of the cached query results and the filter
values, so the same arguments give the same figure: the cache keeps the figure as its
JSON dict, and each call gets a figure of its own made from it (a page may still add
marks to it) without validating it again.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import charts, data
from dashboard.queries import board, equity, funder, quality, service, spc

P = ParamSpec("P")
R = TypeVar("R")


def _cached(query: Callable[P, R]) -> Callable[P, R]:
    """``query`` cached per argument values (snapshot, scope, filters)."""
    return st.cache_data(show_spinner=False, max_entries=256)(query)


def _frame_key(frame: pd.DataFrame | pd.Series) -> bytes:
    """A chart's table argument as its cache key: its pickle, which holds every value,
    label and type. Streamlit's own hash of a frame (``hash_pandas_object``) took 1.7 ms
    for a 90-row table, a tenth of a cached page view's time over its charts; this takes
    0.1 ms. The tables come from the cached queries, so equal tables pickle alike."""
    return pickle.dumps(frame, protocol=5)


def derived(compute: Callable[P, R]) -> Callable[P, R]:
    """``compute``, a pure function of cached query results (frames) and filter values,
    cached per argument values, each frame keyed by its pickle (``_frame_key``): what a page
    works out from its data (a series as shown, its SPC analysis) is then worked out once
    per snapshot, scope and filters, not on every view."""
    return st.cache_data(
        show_spinner=False,
        max_entries=256,
        hash_funcs={pd.DataFrame: _frame_key, pd.Series: _frame_key},
    )(compute)


def figure_from(spec: dict[str, Any]) -> go.Figure:
    """A figure of its own from the dict of one built earlier and cached (``chart``, or a
    page's ``derived`` result): validated when it was built, so taken as it is, plotly's
    own way with a trusted dict."""
    return go.Figure(spec, _validate=False)


def chart(build: Callable[P, go.Figure]) -> Callable[P, go.Figure]:
    """The chart builder ``build`` cached per argument values (see the module's note)."""

    @functools.wraps(build)  # Streamlit names the cache after the builder: one per builder
    def spec(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return build(*args, **kwargs).to_dict()

    cached_spec = derived(spec)

    @functools.wraps(build)
    def figure(*args: P.args, **kwargs: P.kwargs) -> go.Figure:
        return figure_from(cached_spec(*args, **kwargs))

    return figure


monthly_metrics = _cached(data.monthly_metrics)
as_of = _cached(data.as_of)
institution_joins = _cached(data.institution_joins)

institution_monthly = _cached(board.institution_monthly)
spc_change_points = _cached(spc.change_points)

referral_funnel = _cached(service.referral_funnel)
wait_weeks = _cached(service.wait_weeks)
wait_summary = _cached(service.wait_summary)
liaison_mix = _cached(service.liaison_mix)
ucope_pathway = _cached(service.ucope_pathway)
waiting_by_institution = _cached(service.waiting_by_institution)
waiting_by_month = _cached(service.waiting_by_month)
waiting_worklist = _cached(service.waiting_worklist)
services = _cached(service.services)

impact_totals = _cached(funder.totals)
impact_by_institution = _cached(funder.by_institution)
impact_by_year = _cached(funder.by_year)
standards = _cached(funder.standards)

equity_rates = _cached(equity.rates)

has_run_history = _cached(quality.has_run_history)
last_run = _cached(quality.last_run)
stale_sources = _cached(quality.stale_sources)
recent_runs = _cached(quality.recent_runs)
run_stages = _cached(quality.run_stages)
freshness = _cached(quality.freshness)
rejected_files = _cached(quality.rejected_files)
quarantine_by_reason = _cached(quality.quarantine_by_reason)
load_summary = _cached(quality.load_summary)
latest_checks = _cached(quality.latest_checks)

bars = chart(charts.bars)
estimates = chart(charts.estimates)
