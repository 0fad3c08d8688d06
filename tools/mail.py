"""The mail sender: delivers the outbox over SMTP with aiosmtplib.

It claims each due message (one process wins it, see :mod:`tools.outbox`), sends it, and records it sent, or
pending again after an exponential backoff, or failed after ``SUPPORT_MAIL_MAX_ATTEMPTS`` tries. Logs name a
message by its id and its masked recipient, never its body (a reset link's token).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

import aiosmtplib

from core.settings import Settings
from tools.outbox import Claimed, claim_next, filled, mask_email, record_failure, record_sent
from tools.store import Store
from tools.store.models import utcnow

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600
SEND_ERRORS = (aiosmtplib.SMTPException, OSError, ValueError)
"""A try that failed: the server refused or timed out, the connection failed, or a header was unusable."""


class MailSender:
    """Sends the outbox of ``store`` through the SMTP server the settings name."""

    def __init__(self, store: Store, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._store, self._settings, self._clock = store, settings, clock
        self._lease = timedelta(seconds=10 * settings.smtp_timeout_seconds)  # well past one try's longest
        self._stopping = asyncio.Event()

    async def send_due(self) -> int:
        """Try every message that is due now, until the outbox has none or :meth:`stop` is called; how many
        were sent."""
        sent = 0
        while not self._stopping.is_set():
            claimed = await asyncio.to_thread(claim_next, self._store, now=self._clock(), lease=self._lease)
            if claimed is None:
                break
            sent += await self._deliver(claimed)
        return sent

    async def run(self) -> None:
        """Send what is due every ``mail_poll_seconds`` until :meth:`stop`; a message in hand is finished first."""
        while not self._stopping.is_set():
            try:
                await self.send_due()
            except Exception:  # the database is down, say: keep the loop alive and try again at the next poll
                log.exception("mail sender: could not read the outbox")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._settings.mail_poll_seconds)

    def stop(self) -> None:
        self._stopping.set()

    async def _deliver(self, claimed: Claimed) -> bool:
        if claimed.attempts > self._settings.mail_max_attempts:  # its earlier senders stopped in the middle
            await asyncio.to_thread(record_failure, self._store, claimed, "every try ended with its sender stopped",
                                    retry_at=None)
            return False
        try:
            await aiosmtplib.send(self._message(claimed), **self._smtp_options())
        except SEND_ERRORS as exc:
            await asyncio.to_thread(self._record_failure, claimed, exc)
            return False
        await asyncio.to_thread(record_sent, self._store, claimed, public_url=self._settings.public_url,
                                now=self._clock())
        log.info("mail %d to %s sent", claimed.id, mask_email(claimed.to_address))
        return True

    def _record_failure(self, claimed: Claimed, exc: Exception) -> None:
        last = claimed.attempts >= self._settings.mail_max_attempts
        backoff = self._settings.mail_retry_seconds * 2 ** (claimed.attempts - 1)
        wait = timedelta(seconds=min(backoff, MAX_BACKOFF_SECONDS))
        retry_at = None if last else self._clock() + wait
        record_failure(self._store, claimed, _described(exc), retry_at=retry_at)
        log.warning("mail %d to %s not sent (try %d of %d, %s); %s", claimed.id, mask_email(claimed.to_address),
                    claimed.attempts, self._settings.mail_max_attempts, _kind(exc),
                    "gave up" if last else f"retrying in {wait.total_seconds():g} s")

    def _message(self, claimed: Claimed) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = claimed.to_address
        message["Subject"] = claimed.subject
        message["Date"] = format_datetime(self._clock().replace(tzinfo=UTC))
        message["Message-ID"] = make_msgid(domain=parseaddr(self._settings.mail_from)[1].rpartition("@")[2] or None)
        message.set_content(filled(claimed.body, self._settings.public_url))
        return message

    def _smtp_options(self) -> dict[str, Any]:
        settings = self._settings
        return {"hostname": settings.smtp_host, "port": settings.smtp_port, "timeout": settings.smtp_timeout_seconds,
                "use_tls": settings.smtp_tls == "tls", "start_tls": settings.smtp_tls == "starttls",
                "username": settings.smtp_username or None,
                "password": settings.smtp_password.get_secret_value() or None}


def _kind(exc: Exception) -> str:
    """What went wrong, for a log line: the error's type and SMTP code, without the server's text (which may
    quote the address)."""
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__} {code}" if code else type(exc).__name__


def _described(exc: Exception) -> str:
    return f"{_kind(exc)}: {getattr(exc, 'message', None) or exc}"


@asynccontextmanager
async def delivering(store: Store, settings: Settings) -> AsyncIterator[MailSender | None]:
    """Run a mail sender for the block when ``SUPPORT_SMTP_HOST`` is set; otherwise say once that mail waits."""
    if not settings.smtp_host:
        log.warning("SUPPORT_SMTP_HOST is not set: emails (password-reset links) wait in the outbox unsent")
        yield None
        return
    sender = MailSender(store, settings)
    task = asyncio.create_task(sender.run(), name="mail-sender")
    log.info("mail sender: delivering through %s:%d", settings.smtp_host, settings.smtp_port)
    try:
        yield sender
    finally:
        sender.stop()
        try:
            await asyncio.wait_for(task, settings.smtp_timeout_seconds)
        except TimeoutError:
            log.warning("mail sender: stopped in the middle of a message; it is sent again when its claim expires")
