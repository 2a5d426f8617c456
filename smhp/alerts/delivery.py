"""How alert messages leave, and the audit record of each send or failure.

Two ways, chosen by ``SMHP_ALERTS_DELIVERY`` (``smhp.settings``):

- ``outbox`` (the default, embedded): each message is a standard ``.eml`` file (RFC 5322,
  what any mail client opens) written atomically into ``SMHP_ALERTS_OUTBOX``; the demo
  shows them on the admin page. Nothing leaves the machine.
- ``smtp`` (production): one connection to ``SMHP_SMTP_HOST``:``SMHP_SMTP_PORT``,
  upgraded with STARTTLS (``SMHP_SMTP_STARTTLS``, on by default; the server's certificate
  verified against the system's trusted authorities), then a login when
  ``SMHP_SMTP_USERNAME`` is set, with the password read from ``SMHP_SMTP_PASSWORD_FILE``
  (a file readable by its owner only; never an environment value, never logged).

Every message is recorded in the audit log (``smhp.access.audit``): ``alert_sent`` or
``alert_failed`` with the signal's key, the recipient and the delivery, never the body. A
server that cannot be reached fails every message at once (one connection attempt, not one
per message), each recorded.
"""

from __future__ import annotations

import email
import email.policy
import smtplib
import ssl
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from hashlib import sha256
from pathlib import Path
from typing import Protocol

from smhp.access.audit import ALERT_FAILED, ALERT_SENT, AuditLog
from smhp.atomic import write_atomically
from smhp.settings import Settings, SettingsError

SMTP_TIMEOUT_SECONDS = 30


class Delivery(Protocol):
    """A way to send messages: ``send`` returns where the message went, raises on failure."""

    name: str
    where: str

    def send(self, message: EmailMessage) -> str: ...

    def close(self) -> None: ...


class Outbox:
    """``.eml`` files in a folder, one per message, named so they sort by time."""

    name = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.where = str(self.folder)

    def send(self, message: EmailMessage) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}-{sha256(data).hexdigest()[:12]}.eml"
        write_atomically(path, data)  # through a dot-file: never listed as a message
        return str(path)

    def close(self) -> None:
        """Nothing to close."""


@dataclass(frozen=True)
class OutboxMessage:
    """A message of the outbox as the admin page lists it."""

    path: Path
    date: datetime | None
    to: str
    subject: str
    body: str


def outbox_messages(folder: Path, limit: int = 50) -> list[OutboxMessage]:
    """The newest ``limit`` messages of the outbox ``folder``, newest first (none when
    it does not exist yet)."""
    paths = sorted(Path(folder).glob("*.eml"), reverse=True)[:limit] if folder else []
    out = []
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        when = message["Date"]
        body = message.get_body(("plain",))
        out.append(
            OutboxMessage(
                path=path,
                date=when.datetime if when is not None else None,
                to=str(message["To"] or ""),
                subject=str(message["Subject"] or ""),
                body=body.get_content().replace("\r\n", "\n") if body is not None else "",
            )
        )
    return out


class Smtp:
    """An SMTP server: connected at the first message, closed by ``close``. Once it could
    not be reached, every further message fails at once with the same error."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = True,
        username: str = "",
        password_file: Path | None = None,
        context: ssl.SSLContext | None = None,
        timeout: float = SMTP_TIMEOUT_SECONDS,
    ) -> None:
        if not host:
            raise SettingsError("SMHP_ALERTS_DELIVERY=smtp needs SMHP_SMTP_HOST")
        if username and password_file is None:
            raise SettingsError("SMHP_SMTP_USERNAME is set: set SMHP_SMTP_PASSWORD_FILE too")
        self.host, self.port, self.starttls = host, port, starttls
        self.username, self.password_file = username, password_file
        self.context = context
        self.timeout = timeout
        self.where = f"{host}:{port}"
        self._client: smtplib.SMTP | None = None
        self._broken: Exception | None = None

    def _connect(self) -> smtplib.SMTP:
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            client.ehlo()
            if self.starttls:
                client.starttls(context=self.context or ssl.create_default_context())
                client.ehlo()
            if self.username:
                client.login(self.username, read_password(self.password_file))
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: EmailMessage) -> str:
        if self._broken is not None:
            raise self._broken
        if self._client is None:
            try:
                self._client = self._connect()
            except (OSError, smtplib.SMTPException, SettingsError) as exc:
                self._broken = exc
                raise
        try:
            self._client.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self._client = None  # the next message connects again
            raise
        return self.where

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (OSError, smtplib.SMTPException):
                self._client.close()
            self._client = None


def read_password(path: Path | None) -> str:
    """The SMTP password from its file (first line), refused when others can read it."""
    if path is None:
        raise SettingsError("SMHP_SMTP_PASSWORD_FILE is not set")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SettingsError(f"SMHP_SMTP_PASSWORD_FILE: no file {path}") from None
    if stat.S_IMODE(mode) & 0o077:
        raise SettingsError(f"SMHP_SMTP_PASSWORD_FILE: {path} can be read by others: chmod 600 it")
    text = path.read_text(encoding="utf-8")
    return text.splitlines()[0] if text else ""


def delivery_for(settings: Settings) -> Delivery:
    """The delivery ``SMHP_ALERTS_DELIVERY`` names, from its settings."""
    if settings.alerts_delivery == "smtp":
        return Smtp(
            settings.smtp_host,
            settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password_file=settings.smtp_password_file,
        )
    return Outbox(settings.alerts_outbox)


@dataclass(frozen=True)
class Sent:
    """One message's fate: delivered (``error`` None) or not."""

    key: str
    email: str
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


def deliver(
    outgoing: list[tuple[str, EmailMessage]], delivery: Delivery, audit: AuditLog
) -> list[Sent]:
    """Send each (signal key, message) through ``delivery``, recording every send and
    every failure in ``audit``; never raises for a message that fails (see ``Sent``)."""
    results = []
    try:
        for key, message in outgoing:
            email = str(message["To"])
            details = {"signal": key, "recipient": email, "delivery": delivery.name}
            try:
                where = delivery.send(message)
            except (OSError, smtplib.SMTPException, SettingsError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                audit.record(ALERT_FAILED, None, {**details, "error": error})
                results.append(Sent(key, email, error))
                continue
            audit.record(ALERT_SENT, None, {**details, "where": where})
            results.append(Sent(key, email, None))
    finally:
        delivery.close()
    return results
