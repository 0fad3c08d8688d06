"""Calls to a model server that cannot hold a turn: a deadline per call, bounded retries with backoff (tenacity)
on connection errors, 5xx and 429 only, and a circuit breaker (pybreaker) that fails calls at once while the
server is down or too slow. Every failure leaves as a :class:`ModelError`, so each caller's fallback applies."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import pybreaker
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from core.errors import ModelError

log = logging.getLogger(__name__)
T = TypeVar("T")


class ServerStatusError(Exception):
    """The server answered with an error status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class MalformedResponse(Exception):
    """The server's answer is not an OpenAI chat completion (not JSON, or missing what is read)."""


class DeadlineExceeded(TimeoutError):
    """The call ran past its deadline."""


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: no connection (refused, dropped, reset, not accepted in time), 5xx or 429. A read
    timeout is not: it used up what was left of the deadline."""
    if isinstance(exc, ServerStatusError):
        return exc.status == 429 or exc.status >= 500
    if isinstance(exc, httpx.TimeoutException):
        return isinstance(exc, httpx.ConnectTimeout)
    return isinstance(exc, httpx.TransportError)


def is_outage(exc: BaseException) -> bool:
    """A sign the server is down or too slow (counts against the breaker); a 4xx, a reply that fails its schema
    or a reader that stops early is not."""
    if isinstance(exc, ServerStatusError):
        return is_transient(exc)
    return isinstance(exc, httpx.TransportError | MalformedResponse | DeadlineExceeded)


class _LogStateChanges(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: object, new_state: object) -> None:
        log.warning("model server circuit %s -> %s", getattr(old_state, "name", old_state),
                    getattr(new_state, "name", new_state))


@dataclass
class Deadline:
    """What is left of one call's time."""

    seconds: float
    connect_seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def check(self) -> None:
        if self.remaining() <= 0:
            raise DeadlineExceeded(f"no complete answer within {self.seconds:g} s")

    def timeout(self) -> httpx.Timeout:
        """The httpx timeouts of the next attempt: whatever is left, connecting within ``connect_seconds``."""
        self.check()
        left = self.remaining()
        return httpx.Timeout(left, connect=min(self.connect_seconds, left))


class ServerGuard:
    """Deadline, retries and circuit breaker shared by every call to one model server (thread-safe)."""

    def __init__(self, *, deadline_seconds: float, connect_seconds: float, retries: int, breaker_failures: int,
                 breaker_reset_seconds: float) -> None:
        self.deadline_seconds = deadline_seconds
        self.connect_seconds = connect_seconds
        self.retries = retries
        self.breaker = pybreaker.CircuitBreaker(fail_max=breaker_failures, reset_timeout=breaker_reset_seconds,
                                                exclude=[lambda exc: not is_outage(exc)],
                                                listeners=[_LogStateChanges()], name="model server")

    @contextlib.contextmanager
    def call(self) -> Iterator[Deadline]:
        """One call to the server, timed from here: fails at once while the breaker is open, counts the outcome
        of the block, and turns any failure into a :class:`ModelError`. (``calling()`` does not hold the
        breaker's lock while the block runs, unlike ``CircuitBreaker.call``: calls run side by side.)"""
        try:
            with self.breaker.calling():
                yield Deadline(self.deadline_seconds, self.connect_seconds)
        except pybreaker.CircuitBreakerError as exc:
            raise ModelError(f"model server unavailable: {exc}") from exc
        except (httpx.HTTPError, ServerStatusError, MalformedResponse, DeadlineExceeded) as exc:
            raise ModelError(f"model server call failed: {type(exc).__name__}: {exc}") from exc

    def attempts(self, deadline: Deadline, send: Callable[[httpx.Timeout], T]) -> T:
        """``send`` (given the timeouts of its attempt), tried again after a transient failure while retries and
        the deadline last, with exponential backoff and jitter."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1) | stop_before_delay(deadline.remaining()),
            wait=wait_exponential_jitter(initial=0.1, max=1.0, jitter=0.1),
            retry=retry_if_exception(is_transient),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
        return retrying(lambda: send(deadline.timeout()))
