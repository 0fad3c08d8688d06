"""What sharing the rate limits, open streams and turn queue through PostgreSQL adds to a request.

    .venv/bin/python scripts/bench_shared_limits.py [--database-url postgresql+psycopg://...] [--calls 2000]

Without ``--database-url`` a throwaway PostgreSQL server is started (Debian's package, as the tests do). Every
request takes from one rate bucket (a turn from two), each open event stream and each turn holds a lease: the
report gives each operation's median and 95th-percentile time in the database against the in-memory version,
and checks that two limiters hammering one bucket from two threads admit exactly its burst. The machine's other
load shows in the numbers: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from any folder

from api.leases import Leases
from api.limits import OpenStreams, RateLimiter
from api.shared_limits import SharedOpenStreams, SharedRateLimiter
from api.shared_queue import SharedTurnQueue
from api.turn_queue import TurnQueue
from tools.store import Store


def timed(operation: Callable[[int], object], calls: int) -> dict[str, float]:
    """Median and 95th percentile of ``operation(i)`` in milliseconds."""
    seconds = []
    for i in range(calls):
        started = time.perf_counter()
        operation(i)
        seconds.append(time.perf_counter() - started)
    cuts = statistics.quantiles(seconds, n=20)
    return {"median_ms": round(statistics.median(seconds) * 1000, 3), "p95_ms": round(cuts[18] * 1000, 3)}


def hold_and_release(streams: OpenStreams | SharedOpenStreams) -> Callable[[int], object]:
    def operation(i: int) -> None:
        release = streams.hold(f"customer:{i % 100}", 10)
        assert release is not None
        release()

    return operation


def reserve_and_release(queue: TurnQueue) -> Callable[[int], object]:
    loop = asyncio.new_event_loop()

    async def turn(i: int) -> None:
        async with await queue.reserve(f"customer:{i % 100}"):
            pass

    return lambda i: loop.run_until_complete(turn(i))


def admitted_by_two(engine_url: str, burst: int, attempts: int) -> int:
    """Requests two limiters (own engines, own threads) let through from one bucket of ``burst`` per minute."""
    engines = [Store(engine_url).engine for _ in range(2)]
    limiters = [SharedRateLimiter(engine) for engine in engines]
    with ThreadPoolExecutor(2) as pool:
        admitted = sum(pool.map(lambda i: limiters[i % 2].take([("bench:race", burst)]) == 0, range(attempts)))
    for engine in engines:
        engine.dispose()
    return admitted


def measure(url: str, calls: int) -> dict[str, object]:
    store = Store(url)
    store.migrate()
    leases = Leases(store.engine)
    turn = [("turns:ip:127.0.0.1", 10**9), ("turns:customer:c", 10**9)]
    report: dict[str, object] = {}
    for name, limiter in (("memory", RateLimiter()), ("postgres", SharedRateLimiter(store.engine))):
        report[f"read_limit_{name}"] = timed(lambda i, lim=limiter: lim.take([(f"read:ip:{i % 100}", 10**9)]), calls)
        report[f"turn_limit_{name}"] = timed(lambda _, lim=limiter: lim.take(turn), calls)
    report["stream_memory"] = timed(hold_and_release(OpenStreams()), calls)
    report["stream_postgres"] = timed(hold_and_release(SharedOpenStreams(leases)), calls)
    report["turn_slot_memory"] = timed(reserve_and_release(TurnQueue(slots=2, max_waiting=8)), calls)
    report["turn_slot_postgres"] = timed(reserve_and_release(SharedTurnQueue(leases, slots=2, max_waiting=8)), calls)
    report["race_burst_20_admitted"] = admitted_by_two(url, 20, 200)
    store.engine.dispose()
    return report


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.postgres_server import postgres

    with postgres() as started:
        yield started.replace("postgresql://", "postgresql+psycopg://")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL database to use (its tables are migrated)")
    parser.add_argument("--calls", type=int, default=2000, help="calls timed per operation")
    args = parser.parse_args()
    with database(args.database_url) as url:
        sys.stdout.write(json.dumps(measure(url, args.calls), indent=2) + "\n")


if __name__ == "__main__":
    main()
