"""One email per signal and recipient.

One message per (signal, recipient), not a digest: its subject says what it is about
("[smhp] Concern: Seen within 6 weeks, UOL, October 2026"), a manager's message can only
ever name their own institution (the signal is about it), and whom a signal was told is
remembered per recipient (``smhp.alerts.state``), so a failed send is retried to that
recipient alone.

Plain text, for every mail client and screen reader: the metric, institution, month, value,
target, what the signal means and the link to the dashboard page that shows it (the page
of the recipient's role: a service manager's link goes to a page they can open). No
student-level data: a signal holds none.
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from dashboard.navigation import BY_ID
from dashboard.series import month_label
from smhp.access.roles import pages_for
from smhp.alerts.rules import (
    RUN_NOT_PUBLISHED,
    SOURCE_STALE,
    SPC_CONCERN,
    STANDARD_MISSED,
    Recipient,
)
from smhp.alerts.signals import PARTNERSHIP, Signal

SUBJECT_PREFIX = "[smhp]"
POLICY = SMTP.clone(max_line_length=998)
"""RFC 5322 with CRLF line ends; a header is never folded below its hard limit of 998
characters: Python folds a subject longer than 78 by starting it on a continuation line,
which a reader then sees with a leading space. The body is wrapped at ``WIDTH`` instead."""
WIDTH = 76
"""Characters per line of the body (RFC 5322 recommends at most 78)."""
SIGNAL_HEADER = "X-Smhp-Signal"
"""The signal's key, for whoever files or searches the messages."""

TITLES = {
    SPC_CONCERN: "Concern",
    STANDARD_MISSED: "Standard missed",
    SOURCE_STALE: "Stale source",
    RUN_NOT_PUBLISHED: "Run not published",
}
"""The first words of each rule's subject."""

FIRST_ROW = {
    SPC_CONCERN: "Metric",
    STANDARD_MISSED: "Metric",
    SOURCE_STALE: "Source",
    RUN_NOT_PUBLISHED: "Run",
}
"""What the body's first row names."""

INTRO = {
    SPC_CONCERN: "The latest month of this key metric is a special-cause concern on its "
    "Making Data Count SPC chart: a change worse than the usual month-to-month variation.",
    STANDARD_MISSED: "This standard was missed in the latest complete month.",
    SOURCE_STALE: "No recent extract has arrived from this source: the figures that depend "
    "on it may be out of date.",
    RUN_NOT_PUBLISHED: "Last night's run published nothing new; the previous data stays published.",
}


def page_url(public_url: str, page_id: str, role: str) -> str:
    """The dashboard address of ``page_id``, or of the role's landing page when the role
    cannot open it (``smhp.access.pages_for``): a link never ends on a refusal."""
    pages = pages_for(role)
    chosen = page_id if page_id in pages or not pages else pages[0]
    return f"{public_url}/{BY_ID[chosen].url_path}"


def subject(signal: Signal) -> str:
    """``[smhp] Concern: Seen within 6 weeks, UOL, October 2026``."""
    parts = [signal.label]
    if signal.institution_code is not None:
        code = signal.institution_code
        parts.append("Partnership" if code == PARTNERSHIP else code)
    if signal.month is not None:
        parts.append(month_label(signal.month))
    return f"{SUBJECT_PREFIX} {TITLES[signal.rule]}: {', '.join(parts)}"


def body(signal: Signal, recipient: Recipient, link: str) -> str:
    """The plain-text body: what, where, when, how much, against what, and where to look."""
    about_metric = signal.rule in (SPC_CONCERN, STANDARD_MISSED)
    what = f"{signal.label} ({signal.subject})" if about_metric else signal.label
    rows = [(FIRST_ROW[signal.rule], what)]
    if signal.institution_code is not None:
        rows.append(("Institution", signal.where))
    if signal.month is not None:
        rows.append(("Month", month_label(signal.month)))
    rows.append(("Value", signal.value))
    if signal.target is not None:
        rows.append(("Target", signal.target))
    rows.append(("Detail", signal.detail))
    width = max(len(name) for name, _ in rows) + 2
    lines = [*_wrap(INTRO[signal.rule]), ""]
    for name, value in rows:
        lines += _wrap(value, first=f"{name + ':':<{width}}", indent=" " * width)
    lines += ["", f"See it on the dashboard: {link}", "", "--"]
    lines += _wrap(
        f"You get this as {recipient.describe} on the smhp alert list. Each signal is sent "
        "once; you hear of it again only if it goes away and comes back. This message names "
        "no student."
    )
    lines.append(f"Signal: {signal.key}")
    return "\n".join(lines) + "\n"


def _wrap(text: str, first: str = "", indent: str = "") -> list[str]:
    """``text`` in lines of at most ``WIDTH`` characters (a link or key is never broken),
    so the message travels as readable plain text rather than quoted-printable."""
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def compose(
    signal: Signal, recipient: Recipient, *, sender: str, public_url: str, now: datetime
) -> EmailMessage:
    """The message telling ``recipient`` of ``signal`` (``sender``: ``SMHP_ALERTS_FROM``;
    ``public_url``: ``SMHP_PUBLIC_URL``; ``now``: its Date, timezone-aware)."""
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = recipient.email
    message["Subject"] = subject(signal)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    message[SIGNAL_HEADER] = signal.key
    link = page_url(public_url, signal.page_id, recipient.role)
    message.set_content(body(signal, recipient, link))
    return message
