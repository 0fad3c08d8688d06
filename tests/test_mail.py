"""Mail delivery on real parts: an aiosmtpd SMTP server on loopback, SQLite and PostgreSQL stores, the real app
over HTTP and the reset page in headless Chromium."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as email_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect
from pydantic import ValidationError
from sqlalchemy import delete, select, text

from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.settings import Settings
from tests.browser import chromium
from tests.conftest import SHOWCASE, make_settings
from tests.live_server import auth, free_port, private_store, serve, world_deps
from tests.postgres_server import postgres
from tests.sse import read_events, reply_text
from tools.mail import MailSender, delivering
from tools.outbox import claim_next, service_link
from tools.password_reset import verify_password
from tools.store import Store
from tools.store.models import Customer, OutboxMessage

TOKEN = "tok-" + "x" * 40
"""A stand-in for a reset link's secret."""
T0 = datetime(2026, 12, 1, 9, 0)


class Inbox:
    """An aiosmtpd handler keeping every message it accepts; it answers 451 to the next ``refuse`` ones."""

    def __init__(self) -> None:
        self.messages: queue.Queue[EmailMessage] = queue.Queue()
        self.refuse = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        self.messages.put(message_from_bytes(envelope.content, policy=email_policy))  # type: ignore[arg-type]
        return "250 OK"

    def drain(self) -> list[EmailMessage]:
        found = []
        while not self.messages.empty():
            found.append(self.messages.get_nowait())
        return found


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free loopback port: (its inbox, its port)."""
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def mail_settings(data_dir: Path, port: int, **overrides: object) -> Settings:
    return make_settings(data_dir, **{"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none",
                                      "smtp_timeout_seconds": 5, "mail_max_attempts": 3, "mail_retry_seconds": 60,
                                      "public_url": "https://shop.example", **overrides})


def empty_store(url: str) -> Store:
    store = Store(url)
    store.migrate()
    return store


def add_mail(store: Store, count: int = 1) -> list[int]:
    with store.session() as session:
        rows = [OutboxMessage(to_address=f"c{n}@example.com", subject=f"message {n}", created_at=T0,
                              body=f"Open {service_link('/reset-password', token=f'{TOKEN}{n}')} soon.\n")
                for n in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def outbox(store: Store, message_id: int) -> OutboxMessage:
    with store.session() as session:
        return session.get_one(OutboxMessage, message_id)


def sent(store: Store) -> OutboxMessage:
    """The one message of ``store`` once the server's sender has recorded it sent (just after the SMTP server
    took it)."""
    deadline = time.monotonic() + 30
    with store.session() as session:
        message_id = session.scalars(select(OutboxMessage.id)).one()
    while (row := outbox(store, message_id)).status != "sent":
        assert time.monotonic() < deadline, f"the message is still {row.status}"
        time.sleep(0.05)
    return row


def send_due(store: Store, settings: Settings, clock: Clock) -> int:
    return asyncio.run(MailSender(store, settings, clock=clock).send_due())


# --- settings ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "kept"), [("https://shop.example/", "https://shop.example"),
                                             ("https://shop.example/support", "https://shop.example/support"),
                                             ("http://localhost:8000", "http://localhost:8000"),
                                             ("http://127.0.0.1:9000/", "http://127.0.0.1:9000")])
def test_public_url_is_https_or_local_http(tmp_path: Path, given: str, kept: str) -> None:
    assert make_settings(tmp_path, public_url=given).public_url == kept


@pytest.mark.parametrize("given", ["http://example.com", "shop.northwind.example", "our shop, see the sign",
                                   "javascript:alert(1)", "https://shop.example/?ref=mail", "https://a@shop.example",
                                   "https://shop.example:99999", "https://shop.example/<b>"])
def test_public_url_refuses_plain_http_and_free_text(tmp_path: Path, given: str) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        make_settings(tmp_path, public_url=given)


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"smtp_port": 0}, "smtp_port"),
    ({"smtp_port": 70000}, "smtp_port"),
    ({"smtp_tls": "ssl"}, "smtp_tls"),
    ({"mail_max_attempts": 0}, "mail_max_attempts"),
    ({"mail_from": "support@example.com\r\nBcc: all@example.com"}, "mail_from"),
    ({"smtp_username": "mailer"}, "SUPPORT_SMTP_PASSWORD is empty"),
    ({"smtp_host": "mail.example", "smtp_tls": "none", "smtp_username": "u", "smtp_password": "p"}, "unencrypted"),
])
def test_mail_settings_refuse_nonsense(tmp_path: Path, overrides: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        make_settings(tmp_path, **overrides)


# --- the reset mail, end to end ------------------------------------------------------------------------------


def test_the_reset_mail_arrives_and_its_link_works_once(
    world: AgentDeps, world_settings: Settings, inbox: tuple[Inbox, int], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, smtp_port = inbox
    caplog.set_level(logging.INFO)
    store, port = private_store(world_settings, tmp_path / "store"), free_port()
    with store.session() as session:
        session.execute(delete(OutboxMessage))  # other tests' mail, in the copy of the shared store
    settings = mail_settings(tmp_path, smtp_port, database_url=str(store.engine.url), mail_poll_seconds=0.2,
                             public_url=f"http://127.0.0.1:{port}/")
    deps = world_deps(dataclasses.replace(world, store=store), ScriptedChatModel())
    with serve(settings, deps_factory=deps, port=port) as base:
        customer = auth(settings, "customer", SHOWCASE)
        for message in ("I forgot my password", "yes"):
            with httpx.stream("POST", f"{base}/v1/chat", json={"message": message}, headers=customer,
                              timeout=60) as response:
                customer["X-Conversation-Id"] = response.headers["x-conversation-id"]
                reply = reply_text(read_events(response))
        assert "o***@example.com" in reply and "token=" not in reply

        mail = handler.messages.get(timeout=30)
        assert (mail["To"], mail["Subject"]) == ("olivia.martin4821@example.com", "Reset your Northwind Goods password")
        body = mail.get_content()
        link = next(word for word in body.split() if word.startswith(f"{base}/reset-password?token="))
        token = link.partition("token=")[2]
        row = sent(store)
        assert (row.attempts, row.claimed_until) == (1, None) and row.sent_at is not None
        assert token not in row.body and f"{base}/reset-password?token=[sent]" in row.body

        page_response = httpx.get(link)
        assert "default-src 'self'" in page_response.headers["content-security-policy"]
        assert page_response.headers["cache-control"] == "no-store"
        with chromium() as browser:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(link)
            assert page.url == f"{base}/reset-password"  # the token left the address bar and the history
            page.fill("#new-password", "a brand new password")
            page.fill("#repeat-password", "a brand new typo")
            page.click("#reset-form button")
            expect(page.locator("#message")).to_have_text("The two passwords are not the same.")
            page.fill("#repeat-password", "a brand new password")
            page.click("#reset-form button")
            expect(page.locator("#message")).to_have_text("Your password is changed. You can sign in with it now.")
            expect(page.locator("#reset-form")).to_be_hidden()
            with store.session() as session:
                assert verify_password(session.get_one(Customer, SHOWCASE).password_hash, "a brand new password")

            again = browser.new_page()
            again.goto(link)
            again.fill("#new-password", "yet another password")
            again.fill("#repeat-password", "yet another password")
            again.click("#reset-form button")
            expect(again.locator("#message")).to_contain_text("this reset link is invalid, used or expired")
            assert not errors, errors
        with store.session() as session:
            assert verify_password(session.get_one(Customer, SHOWCASE).password_hash, "a brand new password")
        bogus = httpx.post(f"{base}/v1/password-reset", json={"token": "x" * 43, "new_password": "long enough 123"})
        assert (bogus.status_code, bogus.json()["detail"]) == (
            400, "this reset link is invalid, used or expired: ask for a new one")
    server_log = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")  # httpx: this test's client
    assert f"mail {row.id} to o***@example.com sent" in server_log and token not in server_log


def test_the_reset_page_without_a_token_says_to_use_the_emailed_link(world: AgentDeps, world_settings: Settings,
                                                                     tmp_path: Path) -> None:
    with serve(make_settings(tmp_path), deps_factory=world_deps(world, ScriptedChatModel())) as base, \
            chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}/reset-password")
        expect(page.locator("#message")).to_contain_text("needs the link from your password-reset email")
        expect(page.locator("#reset-form")).to_be_hidden()


# --- retries, failures, claims -------------------------------------------------------------------------------


def test_an_unreachable_server_is_retried_with_backoff_then_the_mail_is_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = empty_store(f"sqlite:///{tmp_path / 'store.db'}"), Clock()
    settings = mail_settings(tmp_path, free_port())  # nothing listens there
    [message_id] = add_mail(store)
    caplog.set_level(logging.INFO, logger="tools.mail")
    waits = []
    for attempt in (1, 2, 3):
        assert send_due(store, settings, clock) == 0
        row = outbox(store, message_id)
        assert (row.attempts, row.claimed_until) == (attempt, None)
        assert row.last_error is not None and row.last_error.startswith("SMTPConnectError")
        if attempt < 3:
            assert row.status == "pending" and row.next_attempt_at is not None
            waits.append(row.next_attempt_at - clock.now)
            assert send_due(store, settings, clock) == 0 and outbox(store, message_id).attempts == attempt  # not due
            clock.now = row.next_attempt_at
    assert waits == [timedelta(seconds=60), timedelta(seconds=120)]
    row = outbox(store, message_id)
    assert row.status == "failed" and row.sent_at is None  # kept, with what happened
    assert TOKEN not in row.body and "token=[sent]" in row.body
    assert TOKEN not in caplog.text and "c0@example.com" not in caplog.text
    assert "mail 1 to c***@example.com not sent (try 3 of 3, SMTPConnectError); gave up" in caplog.text


def test_a_refused_mail_is_sent_on_a_later_try(tmp_path: Path, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    store, clock, settings = empty_store(f"sqlite:///{tmp_path / 'store.db'}"), Clock(), mail_settings(tmp_path, port)
    [message_id] = add_mail(store)
    handler.refuse = 1
    assert send_due(store, settings, clock) == 0
    row = outbox(store, message_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "SMTPDataError 451: 4.3.0 Try again later")
    clock.now += timedelta(seconds=60)
    assert send_due(store, settings, clock) == 1
    [mail] = handler.drain()
    assert f"https://shop.example/reset-password?token={TOKEN}0" in mail.get_content()
    row = outbox(store, message_id)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, T0 + timedelta(seconds=60))


def test_a_claim_left_by_a_dead_sender_is_taken_again_when_its_lease_ends(
    tmp_path: Path, inbox: tuple[Inbox, int],
) -> None:
    handler, port = inbox
    store, clock, settings = empty_store(f"sqlite:///{tmp_path / 'store.db'}"), Clock(), mail_settings(tmp_path, port)
    [message_id] = add_mail(store)
    assert claim_next(store, now=T0, lease=timedelta(minutes=5)) is not None  # ...and that sender dies
    assert send_due(store, settings, clock) == 0
    clock.now = T0 + timedelta(minutes=5, seconds=1)
    assert send_due(store, settings, clock) == 1
    assert len(handler.drain()) == 1 and outbox(store, message_id).attempts == 2


def test_a_mail_whose_senders_all_died_is_given_up(tmp_path: Path, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    store, clock, settings = empty_store(f"sqlite:///{tmp_path / 'store.db'}"), Clock(), mail_settings(tmp_path, port)
    [message_id] = add_mail(store)
    for n in range(settings.mail_max_attempts):
        assert claim_next(store, now=T0 + timedelta(minutes=10 * n), lease=timedelta(minutes=5)) is not None
    clock.now = T0 + timedelta(hours=1)
    assert send_due(store, settings, clock) == 0 and handler.drain() == []
    row = outbox(store, message_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 4, "every try ended with its sender stopped")
    assert TOKEN not in row.body


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres() as url:
        yield url.replace("postgresql://", "postgresql+psycopg://")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_senders_racing_send_each_mail_once(
    request: pytest.FixtureRequest, tmp_path: Path, inbox: tuple[Inbox, int], database: str,
) -> None:
    handler, port = inbox
    url = request.getfixturevalue("pg_url") if database == "postgresql" else f"sqlite:///{tmp_path / 'store.db'}"
    ids = add_mail(empty_store(url), 30)
    settings, barrier, counts = mail_settings(tmp_path, port), threading.Barrier(2), []

    def sender() -> None:
        store = Store(url)  # one engine each, as two processes would have
        barrier.wait()
        counts.append(asyncio.run(MailSender(store, settings).send_due()))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    subjects = sorted(mail["Subject"] for mail in handler.drain())
    assert sum(counts) == 30 and subjects == sorted(f"message {n}" for n in range(30))
    store = Store(url)
    assert {outbox(store, message_id).status for message_id in ids} == {"sent"}


def test_mail_written_before_delivery_existed_is_not_sent_after_the_upgrade(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate("0004")
    old_link = f"https://anything ops typed/reset-password?token={TOKEN}"
    with store.engine.begin() as connection:
        connection.execute(text("INSERT INTO outbox (to_address, subject, body, created_at) VALUES "
                                "('c@example.com', 'Reset', :body, '2026-11-01 10:00:00')"), {"body": old_link})
    store.migrate()
    row = outbox(store, 1)
    assert (row.status, row.body) == ("failed", "https://anything ops typed/reset-password?token=[sent]")
    assert send_due(store, mail_settings(tmp_path, free_port()), Clock()) == 0


# --- the sender's life in the server -------------------------------------------------------------------------


def test_without_an_smtp_host_mail_waits_and_the_server_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    store = empty_store(f"sqlite:///{tmp_path / 'store.db'}")
    [message_id] = add_mail(store)

    async def serve_a_while() -> Any:
        async with delivering(store, make_settings(tmp_path)) as sender:
            return sender

    assert asyncio.run(serve_a_while()) is None
    assert "SUPPORT_SMTP_HOST is not set: emails (password-reset links) wait in the outbox unsent" in caplog.text
    assert (outbox(store, message_id).status, outbox(store, message_id).attempts) == ("pending", 0)


def test_the_sender_delivers_in_the_background_and_stops_cleanly(
    tmp_path: Path, inbox: tuple[Inbox, int], caplog: pytest.LogCaptureFixture,
) -> None:
    handler, port = inbox
    store = empty_store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = mail_settings(tmp_path, port, mail_poll_seconds=0.1)

    async def run() -> None:
        async with delivering(store, settings):
            add_mail(store)
            await asyncio.to_thread(handler.messages.get, timeout=30)

    asyncio.run(run())
    assert outbox(store, 1).status == "sent" and "stopped in the middle" not in caplog.text
