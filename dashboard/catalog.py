"""The board overview's choice of metrics: page layout, not metric knowledge.

What each metric is (label, kind, base, direction, target, definition) is the metric
catalogue's (``smhp.reporting.catalogue``, from ``seeds/metric_catalogue.csv``); this module
only says which of them the board's headline tiles and SPC charts follow.
"""

from __future__ import annotations

from smhp.reporting.catalogue import STANDARD_METRICS

BOARD_TILES: tuple[str, ...] = ("liaison_contacts", "referrals_received", *STANDARD_METRICS)
"""The board's headline tiles: demand, then the service standards."""

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
