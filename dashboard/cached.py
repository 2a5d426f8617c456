"""Cached versions of the dashboard's queries, for the Streamlit pages.

The cache key includes the resolved snapshot path (``smhp.warehouse.resolve_published``),
not the published link: each publish run writes a new snapshot file, so a new run gives new
keys and the pages read fresh data without any explicit invalidation, while reruns of a page
on the same snapshot cost no query. The scope is part of the key too (every query takes
it), so viewers with different scopes never share a cached result.

Every query is wrapped the same way, by ``_cached``; a page imports this module, never
the query modules, so nothing reaches the warehouse uncached.

What a page works out from cached results is cached too (``derived``): each page's
sections (``dashboard.sections.<page>``) take the snapshot, the scope and the filter
values, read the cached queries themselves and return the tables shown and the charts as
their charts built (``charts.Drawn``: the figure's dict, its title, accessible name and
description). Building a plotly figure object costs 10-70 ms (plotly validates every
property it is given), and keying a cache by a table's rows costs a pickle of the table on
every view; keyed by those few values instead, a cached page view costs lookups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

import streamlit as st

from dashboard import data
from dashboard.queries import board, equity, funder, quality, service, spc

P = ParamSpec("P")
R = TypeVar("R")


def _cached(query: Callable[P, R]) -> Callable[P, R]:
    """``query`` cached per argument values (snapshot, scope, filters)."""
    return st.cache_data(show_spinner=False, max_entries=256)(query)


def derived(compute: Callable[P, R]) -> Callable[P, R]:
    """``compute``, what a page works out from cached query results (its sections,
    ``dashboard.sections.<page>``), cached the same way: per argument values, which are
    the snapshot, the scope and filter values, never a table (a table as a key costs its
    pickle or hash on every view). So it is worked out once per snapshot, scope and
    filters."""
    return _cached(compute)


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
