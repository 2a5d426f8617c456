"""Single sign-on (Microsoft Entra ID through ``st.login``): whether it is on, what the
identity token says, and the access ``SMHP_ACCESS_CONFIG`` maps it to.

The mapping itself is ``smhp.access.identity`` (on the token's immutable ``tid`` + ``oid``
and group ids, never its email); this module only reads Streamlit's side of it. Signing in
is ``dashboard.auth.sign_in``; re-reading the access on every rerun is
``dashboard.auth.session``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from dashboard.auth import request
from smhp.access import Access, identity_access, load_access_config
from smhp.access.identity import display_details


def configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` has an ``[auth]`` section (``st.login``)."""
    try:
        return bool(st.secrets.load_if_toml_exists() and st.secrets.get("auth"))
    except Exception:  # an unreadable secrets file: no single sign-on, never a crash
        return False


def claims() -> dict[str, Any] | None:
    """The identity token's claims when signed in with single sign-on, else ``None``."""
    if not configured() or not st.user.get("is_logged_in", False):
        return None
    return dict(st.user.to_dict())


def access(token: Mapping[str, Any]) -> Access | None:
    """The access the mapping file grants the identity ``token``, or ``None`` (none).

    Raises ``AccessConfigError`` when the mapping file is missing or wrong."""
    return identity_access(token, load_access_config(request.settings().access_config))


def display_name(token: Mapping[str, Any]) -> str | None:
    """The name the token gives for the viewer (else its email), for the account line."""
    shown = display_details(token)
    return shown.get("name") or shown.get("email")
