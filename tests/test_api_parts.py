"""The streaming layer's parts on their own: rate limits and the fair queue for the model (the event log:
``test_hub.py``)."""

from __future__ import annotations

import asyncio

import pytest

from api.limits import RateLimiter
from api.turn_queue import QueueFull, TurnQueue
from core.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_brisk_sixty_turn_conversation_is_never_throttled_by_default() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    limits = [("ip:10.0.0.1", settings.ip_turns_per_minute), ("customer:c1", settings.customer_turns_per_minute)]
    for _ in range(60):
        assert limiter.take(limits) == 0
        clock.now += 2.0  # a message every two seconds: faster than anyone reads the replies
    assert clock.now == 120


def test_a_burst_past_the_rate_waits_and_the_buckets_are_all_or_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    for _ in range(3):
        assert limiter.take([("ip:a", 10), ("customer:c", 3)]) == 0
    wait = limiter.take([("ip:a", 10), ("customer:c", 3)])
    assert wait == pytest.approx(20.0)  # one token back every 60/3 seconds
    assert limiter.take([("ip:a", 10), ("customer:other", 3)]) == 0  # the refusal took nothing from ip:a...
    for _ in range(6):
        assert limiter.take([("ip:a", 10)]) == 0
    assert limiter.take([("ip:a", 10)]) > 0  # ...which had exactly 10 - 3 - 1 left
    clock.now += 20.0
    assert limiter.take([("customer:c", 3)]) == 0


def test_waiting_turns_are_served_round_robin_between_customers() -> None:
    async def scenario() -> list[str]:
        queue, served = TurnQueue(slots=1, max_waiting=4), []
        first = await queue.reserve("a")
        tickets = [(name, await queue.reserve(name[0])) for name in ("a1", "a2", "a3", "b1")]
        with pytest.raises(QueueFull) as full:
            await queue.reserve("c")
        assert full.value.retry_after >= 1

        async def run(name: str, ticket: object) -> None:
            async with ticket:  # type: ignore[attr-defined]
                served.append(name)
                await asyncio.sleep(0)

        tasks = [asyncio.create_task(run(name, ticket)) for name, ticket in tickets]
        await asyncio.sleep(0)
        async with first:
            pass
        await asyncio.gather(*tasks)
        assert queue.waiting == 0 and await queue.reserve("d") is not None
        return served

    assert asyncio.run(scenario()) == ["a1", "b1", "a2", "a3"]


def test_a_cancelled_waiter_gives_its_place_back() -> None:
    async def scenario() -> None:
        queue = TurnQueue(slots=1, max_waiting=1)
        running = await queue.reserve("a")
        waiting = await queue.reserve("b")
        with pytest.raises(QueueFull):
            await queue.reserve("c")
        waiting.cancel()
        queued = await queue.reserve("c")
        running.cancel()  # never entered: the slot passes to the next in line
        async with queued:
            assert queue.waiting == 0

    asyncio.run(scenario())
