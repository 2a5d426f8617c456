"""This rerun's request: when (the clock), under which settings, and from where.

Every module of ``dashboard.auth`` reads the time, the settings and the client's address
from here, through the module (``request.now()``), never a copy of the function: tests
replace ``request.now`` to age a session, and everyone sees the replaced clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from smhp.access import throttle
from smhp.settings import Settings


def now() -> datetime:
    """The dashboard's clock (UTC): sign-in, session checks, audit records, and the
    banner's "nothing published for two days". Tests replace it to age a session."""
    return datetime.now(UTC)


def settings() -> Settings:
    """The settings of this rerun (the environment ``smhp dashboard`` passes)."""
    return Settings.from_env()


def client_address() -> str | None:
    """The viewer's network address, or ``None`` where there is none (tests without a
    browser): the peer of this session's connection (``st.context.ip_address``, ``None``
    for loopback), or, when that peer is a trusted proxy (``SMHP_TRUSTED_PROXIES``), the
    address the proxy wrote in ``X-Forwarded-For`` (``throttle.client_address``)."""
    try:
        peer, headers = st.context.ip_address, st.context.headers
        if not isinstance(peer, str | None) or (peer is None and not headers):
            return None  # no network connection behind this run (a test runtime)
        forwarded = [v for v in headers.get_all("X-Forwarded-For") if isinstance(v, str)]
    except Exception:  # no request context: nothing to record
        return None
    return throttle.client_address(peer, forwarded, settings().trusted_proxies)
