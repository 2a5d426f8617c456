"""Alerts after every nightly run: evaluate, deliver, remember.

``after_run`` is the add-on ``smhp.pipeline.addons`` calls once the run's outcome is saved
(published, blocked or failed). It reads the published warehouse (the run's own snapshot
when it published one, else the data still published), computes the signals
(``smhp.alerts.signals``), sends each new one to its recipients (``message``, ``delivery``)
and records whom it told (``state``). A mail failure is audited and raised after the rest
was sent: the hook records it, and the published data is never touched. ``run_alerts`` is
the same for ``smhp alerts`` (``--dry-run``: nothing sent, nothing remembered).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from smhp.access.audit import AuditLog
from smhp.alerts.delivery import Delivery, Sent, deliver, delivery_for
from smhp.alerts.message import compose
from smhp.alerts.rules import RUN_NOT_PUBLISHED, AlertRules, Recipient, load_rules
from smhp.alerts.signals import RunStatus, Signal, current_signals, run_not_published
from smhp.alerts.state import AlertState, load_state, locked, save_state, state_path
from smhp.settings import Settings
from smhp.warehouse import WarehouseNotFound

if TYPE_CHECKING:
    from smhp.pipeline.addons import FinishedRun


class AlertDeliveryError(RuntimeError):
    """Some alert messages could not be delivered (recorded; retried after the next run)."""


@dataclass(frozen=True)
class Outgoing:
    """A message to send: the signal, its recipient and the message itself."""

    signal: Signal
    recipient: Recipient
    message: EmailMessage


@dataclass(frozen=True)
class AlertReport:
    """What an evaluation found and did."""

    signals: list[Signal]
    new: int  # signals not active at the previous evaluation
    outgoing: list[Outgoing]
    delivery: str  # outbox or smtp
    where: str  # the outbox folder, or host:port
    sent: list[Sent] = field(default_factory=list)
    dry_run: bool = False

    @property
    def failed(self) -> list[Sent]:
        return [s for s in self.sent if not s.delivered]

    @property
    def summary(self) -> str:
        """One line for the run log: ``alerts: 8 signals active, 3 new; 5 messages written
        to var/outbox``."""
        head = f"alerts: {len(self.signals)} signal(s) active, {self.new} new"
        if not self.outgoing:
            return f"{head}; no message to send"
        verb = "written to" if self.delivery == "outbox" else "sent through"
        if self.dry_run:
            return f"{head}; {len(self.outgoing)} message(s) would be {verb} {self.where}"
        done = len(self.sent) - len(self.failed)
        line = f"{head}; {done} message(s) {verb} {self.where}"
        if self.failed:
            line += (
                f"; {len(self.failed)} NOT delivered ({self.failed[0].error}): they are "
                "tried again after the next run"
            )
        return line


def _signals(
    settings: Settings, rules: AlertRules, run: RunStatus | None, snapshot: Path | None
) -> list[Signal]:
    """The current signals; with no published warehouse yet, only the run's own."""
    try:
        return current_signals(
            snapshot or settings.warehouse,
            rules,
            run,
            screen_outliers=not settings.spc_excel_variant,
        )
    except WarehouseNotFound:
        if run is None:
            raise
        signal = run_not_published(run) if rules.on(RUN_NOT_PUBLISHED) else None
        return [signal] if signal else []


def pending(
    signals: list[Signal], recipients: tuple[Recipient, ...], state: AlertState
) -> list[tuple[Signal, Recipient]]:
    """Each (signal, recipient) to tell now: the recipient wants the signal and was not
    told of it while it has been active."""
    return [
        (signal, recipient)
        for signal in signals
        for recipient in recipients
        if recipient.wants(signal.rule, signal.institution_code)
        and not state.was_told(signal.key, recipient.email)
    ]


def run_alerts(
    settings: Settings,
    run: RunStatus | None = None,
    *,
    snapshot: Path | None = None,
    dry_run: bool = False,
    delivery: Delivery | None = None,
    now: datetime | None = None,
) -> AlertReport:
    """Evaluate the alerts against the published warehouse, send what is new, remember it.

    ``run``: the run just finished (``None``: the latest of ``ops.runs``); ``snapshot``: the
    snapshot to read (default: the published one); ``dry_run``: compose only, send and
    remember nothing; ``delivery``: instead of ``SMHP_ALERTS_DELIVERY``'s.
    """
    now = now or datetime.now(UTC)
    rules = load_rules(settings.alerts_config)
    signals = _signals(settings, rules, run, snapshot)
    delivery = delivery or delivery_for(settings)
    path = state_path(settings.warehouse)
    with nullcontext() if dry_run else locked(path):  # a dry run writes nothing, not even a lock
        state = load_state(path)
        outgoing = [
            Outgoing(
                signal,
                recipient,
                compose(
                    signal,
                    recipient,
                    sender=settings.alerts_from,
                    public_url=settings.public_url,
                    now=now,
                ),
            )
            for signal, recipient in pending(signals, rules.recipients, state)
        ]
        report = AlertReport(
            signals=signals,
            new=sum(state.is_new(s.key) for s in signals),
            outgoing=outgoing,
            delivery=delivery.name,
            where=delivery.where,
            dry_run=dry_run,
        )
        if dry_run:
            delivery.close()
            return report
        sent = []
        if outgoing:
            messages = [(o.signal.key, o.message) for o in outgoing]
            sent = deliver(messages, delivery, AuditLog(settings.audit_db))
        delivered = [(s.key, s.email) for s in sent if s.delivered]
        undelivered = [s.key for s in sent if not s.delivered]
        save_state(path, state.advanced([s.key for s in signals], delivered, now, undelivered))
    return replace(report, sent=sent)


def after_run(run: FinishedRun) -> str:
    """The nightly add-on: the alerts of the run just finished (``smhp.pipeline.addons``).
    Returns the summary line; raises ``AlertDeliveryError`` when a message was not
    delivered (after recording it and sending the rest)."""
    report = run_alerts(
        run.settings,
        RunStatus(run.run_id, run.outcome, run.reason),
        snapshot=run.snapshot,
    )
    if report.failed:
        raise AlertDeliveryError(report.summary)
    return report.summary.removeprefix("alerts: ")  # the run log names the add-on
