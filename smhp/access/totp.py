"""The optional second factor of local accounts: time-based one-time codes (RFC 6238).

A password can be phished or reused from another site; a code from an authenticator app
on the user's phone cannot be replayed later. ``smhp users totp-enable USER`` makes a
secret (``new_secret``) that the users file keeps beside the password hash (mode 0600)
and shows it once as an ``otpauth://`` URI for the app. At sign-in a code is accepted
for the current 30-second step or the one either side (clocks drift), and never twice:
the users file remembers the last step used, and only a newer step is accepted, so a
code seen over someone's shoulder is worth nothing once they have used it. pyotp
(a small, well-kept library) computes the codes; the rules are here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import pyotp

from smhp.access import audit

ISSUER = "SMHP dashboard"
DIGITS = 6
WINDOW = 1  # steps either side of the current one
TOTP_ENABLED = audit.TOTP_ENABLED
TOTP_DISABLED = audit.TOTP_DISABLED
"""Audit events of ``smhp users totp-enable`` / ``totp-disable`` (named in smhp.access.audit)."""

Check = Literal["accepted", "missing", "wrong", "reused"]


def new_secret() -> str:
    """A fresh random secret: 32 base32 characters (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads (typed or as a QR code)."""
    return pyotp.TOTP(secret, digits=DIGITS).provisioning_uri(name=username, issuer_name=ISSUER)


def code_at(secret: str, at: datetime) -> str:
    """The code of ``secret`` at ``at`` (what the app shows then; for tests and checks)."""
    return pyotp.TOTP(secret, digits=DIGITS).at(at)


def check_code(
    secret: str, code: str, now: datetime, last_step: int | None
) -> tuple[Check, int | None]:
    """Whether ``code`` is good at ``now``, and the step it belongs to.

    ``accepted`` for a code of the current step or one either side that is newer than
    ``last_step`` (the step of the last code used); ``reused`` for a code of a step not
    newer than that; ``missing``/``wrong`` otherwise. Spaces in the code are ignored
    (apps show ``123 456``). Comparisons take the same time whatever the digits.
    """
    code = "".join(code.split())
    if not code:
        return "missing", None
    if len(code) != DIGITS or not code.isdigit():
        return "wrong", None
    totp = pyotp.TOTP(secret, digits=DIGITS)
    current = totp.timecode(now)
    for step in range(current + WINDOW, current - WINDOW - 1, -1):  # the newest match
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            if last_step is not None and step <= last_step:
                return "reused", step
            return "accepted", step
    return "wrong", None
