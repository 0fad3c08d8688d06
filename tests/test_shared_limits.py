"""Rate limits, open streams and the turn queue shared by server processes on one PostgreSQL database (each
"process" its own engine and lease owner on a real throwaway server), and ``server.py --workers N``: refused on
SQLite, on PostgreSQL several real processes on one port sharing a rate limit."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from api.leases import Leases, acquire_in_worker_thread
from api.shared_limits import SharedOpenStreams, SharedRateLimiter
from api.shared_queue import SharedTurnQueue
from api.turn_queue import QueueFull, Ticket, TurnQueue
from server import cli
from tests.conftest import TEST_SECRET
from tests.live_server import free_port
from tests.postgres_server import postgres
from tools.store import Store
from tools.store.models import RateBucket

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres() as url:
        url = url.replace("postgresql://", "postgresql+psycopg://")
        store = Store(url)
        store.migrate()
        store.engine.dispose()
        yield url


@pytest.fixture
def engine(pg_url: str) -> Iterator[Callable[[], Engine]]:
    """``engine()``: a new engine on the database, as one server process has (all closed after the test)."""
    engines: list[Engine] = []

    def new() -> Engine:
        engines.append(Store(pg_url).engine)
        return engines[-1]

    yield new
    for made in engines:
        made.dispose()


def process(engine: Callable[[], Engine], *, lease_seconds: float = 15.0) -> Leases:
    """What one server process has: its own connections and its own name on the leases."""
    return Leases(engine(), seconds=lease_seconds)


def test_two_processes_take_from_the_same_buckets_all_or_nothing(engine: Callable[[], Engine]) -> None:
    first, second = SharedRateLimiter(engine()), SharedRateLimiter(engine())
    for limiter in (first, second, first):
        assert limiter.take([("turns:ip:a", 10), ("turns:customer:c", 3)]) == 0
    wait = second.take([("turns:ip:a", 10), ("turns:customer:c", 3)])
    assert wait == pytest.approx(20.0, abs=0.5)  # one token back every 60/3 seconds, whoever asks
    assert first.take([("turns:ip:a", 10), ("turns:customer:other", 3)]) == 0  # the refusal took nothing...
    for _ in range(6):
        assert second.take([("turns:ip:a", 10)]) == 0
    assert first.take([("turns:ip:a", 10)]) > 0  # ...from the address, which had exactly 10 - 3 - 1 left


def test_buckets_back_to_full_are_swept_out(engine: Callable[[], Engine]) -> None:
    leases = process(engine)
    assert SharedRateLimiter(leases.engine).take([("page:ip:sweep", 600_000)]) == 0  # full again in 0.1 ms
    leases.renew()
    with leases.engine.connect() as connection:
        assert connection.scalar(select(func.count()).where(RateBucket.key == "page:ip:sweep")) == 0


def test_open_streams_are_counted_across_processes(engine: Callable[[], Engine]) -> None:
    first, second = SharedOpenStreams(process(engine)), SharedOpenStreams(process(engine))
    release = first.hold("customer:c", 2)
    assert release is not None and second.hold("customer:c", 2) is not None
    assert first.hold("customer:c", 2) is None and second.hold("customer:c", 2) is None
    assert second.hold("customer:other", 2) is not None
    release()
    release()  # idempotent: frees one place, not two
    assert second.hold("customer:c", 2) is not None
    assert first.hold("customer:c", 2) is None


def test_a_place_taken_for_a_request_cancelled_meanwhile_is_given_back(engine: Callable[[], Engine]) -> None:
    streams = SharedOpenStreams(process(engine))
    asked, answer, given_back = threading.Event(), threading.Event(), threading.Event()

    def slow_hold() -> Callable[[], None] | None:
        asked.set()
        answer.wait(10)
        return streams.hold("ip:gone", 1)

    def give_back(release: Callable[[], None] | None) -> None:
        assert release is not None
        release()
        given_back.set()

    async def scenario() -> None:
        taking = asyncio.create_task(acquire_in_worker_thread(slow_hold, give_back))
        assert await asyncio.to_thread(asked.wait, 10)
        taking.cancel()  # the client went away while the database decided
        with pytest.raises(asyncio.CancelledError):
            await taking
        answer.set()
        assert await asyncio.to_thread(given_back.wait, 10)

    asyncio.run(scenario())
    assert streams.hold("ip:gone", 1) is not None  # the place is free again


async def _serve(tickets: list[tuple[str, Ticket]], served: list[str]) -> None:
    async def run(name: str, ticket: Ticket) -> None:
        async with ticket:
            served.append(name)
            await asyncio.sleep(0.02)

    await asyncio.gather(*(run(name, ticket) for name, ticket in tickets))


def test_one_set_of_slots_served_round_robin_between_keys_whichever_process_they_came_to(
        engine: Callable[[], Engine]) -> None:
    async def scenario() -> list[str]:
        one = SharedTurnQueue(process(engine), slots=1, max_waiting=4, poll_seconds=0.05)
        two = SharedTurnQueue(process(engine), slots=1, max_waiting=4, poll_seconds=0.05)
        first = await one.reserve("a")
        tickets = [(name, await queue.reserve(name[0])) for name, queue in (("a1", two), ("a2", one), ("a3", two),
                                                                       ("b1", one))]
        for queue in (one, two):
            with pytest.raises(QueueFull) as full:
                await queue.reserve("c")
            assert full.value.retry_after >= 1
        assert one.waiting == two.waiting == 2
        served: list[str] = []
        serving = asyncio.create_task(_serve(tickets, served))
        await asyncio.sleep(0.2)
        assert served == []  # the one slot is still taken
        async with first:
            pass
        await asyncio.wait_for(serving, 10)
        assert one.waiting == two.waiting == 0
        await one.close()
        await two.close()
        return served

    assert asyncio.run(scenario()) == ["a1", "b1", "a2", "a3"]


def test_a_dead_processs_slot_frees_itself_when_its_lease_runs_out_a_live_ones_does_not(
        engine: Callable[[], Engine]) -> None:
    async def scenario() -> None:
        live, dead, waiting = (process(engine, lease_seconds=1.0) for _ in range(3))
        live_queue, dead_queue = (SharedTurnQueue(leases, slots=2, max_waiting=4) for leases in (live, dead))
        queue = SharedTurnQueue(waiting, slots=2, max_waiting=4, poll_seconds=0.05)
        held = [await live_queue.reserve("a"), await dead_queue.reserve("b")]  # the dead one never renews nor releases
        ticket = await queue.reserve("c")
        entered = asyncio.create_task(ticket.__aenter__())
        for _ in range(6):  # 1.5 s: past the lease of the dead process, not of the live one, which renews
            live.renew()
            await asyncio.sleep(0.25)
        await asyncio.wait_for(entered, 5)
        extra = [await queue.reserve(key) for key in "defg"]  # four may wait...
        with pytest.raises(QueueFull):
            await queue.reserve("h")  # ...behind the live process's turn and the new one
        for one in [*held, *extra]:
            one.cancel()
        await ticket.__aexit__(None, None, None)
        await queue.close()

    asyncio.run(scenario())


def test_a_process_that_stops_gives_its_places_back_at_once(engine: Callable[[], Engine]) -> None:
    async def scenario() -> None:
        stopping, other = process(engine), process(engine)
        streams = SharedOpenStreams(stopping)
        assert streams.hold("ip:x", 1) is not None
        await SharedTurnQueue(stopping, slots=1, max_waiting=0).reserve("a")
        stopping.end_all()
        assert SharedOpenStreams(other).hold("ip:x", 1) is not None
        (await SharedTurnQueue(other, slots=1, max_waiting=0).reserve("b")).cancel()  # the slot is free again

    asyncio.run(scenario())


def test_a_waiter_cancelled_with_its_task_never_frees_a_slot_it_did_not_have() -> None:
    async def scenario() -> None:
        queue = TurnQueue(slots=1, max_waiting=4)
        running = await queue.reserve("a")
        await running.__aenter__()

        async def run(ticket: Ticket) -> None:
            async with ticket:
                await asyncio.sleep(10)

        task = asyncio.create_task(run(await queue.reserve("b")))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert queue.waiting == 0
        later = await queue.reserve("c")
        assert queue.waiting == 1  # the slot is still the first turn's
        await running.__aexit__(None, None, None)
        async with later:
            assert queue.waiting == 0

    asyncio.run(scenario())


# --- server processes: `python server.py --workers N` ---------------------------------------------------------

def _serve_workers(workers: int, env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "server.py", "--workers", str(workers), "--port", str(port)],
                            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _server_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """No model is needed: the OpenAI backend points nowhere and is never called (the router reads messages)."""
    return {"SUPPORT_DATA_DIR": str(data_dir), "SUPPORT_LLM_BACKEND": "openai", "SUPPORT_PLANNER": "router",
            "SUPPORT_REPLY_STYLE": "template",
            "SUPPORT_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "SUPPORT_SEED_DEMO_DATA": "false",
            "SUPPORT_JWT_SECRET": TEST_SECRET, **{f"SUPPORT_{k.upper()}": v for k, v in settings.items()}}


def test_several_workers_on_sqlite_are_refused_with_what_to_set(tmp_path: Path) -> None:
    refused = CliRunner().invoke(cli, ["--workers", "2"], env={**_server_env(tmp_path), "SUPPORT_DATABASE_URL": ""})
    assert refused.exit_code == 2
    assert "SQLite serves one process" in refused.output
    assert "set SUPPORT_DATABASE_URL to PostgreSQL" in refused.output
    assert list(tmp_path.iterdir()) == []  # refused before anything was created


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _holder(processes: list[int], server_port: int, client_port: int) -> int | None:
    """Which of ``processes`` holds the server side of the loopback connection from ``client_port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
        if (local, remote) == (server_port, client_port):
            inodes.add(f"socket:[{fields[9]}]")
    for pid in processes:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) in inodes:
                    return pid
    return None


def _get(connection: http.client.HTTPConnection, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response, response.read()


def _one_connection_per_worker(server: subprocess.Popen[str], port: int, workers: int,
                               ) -> dict[int, http.client.HTTPConnection]:
    """Keep-alive connections to the server until each worker holds one, each answering ``/healthz`` 200."""
    found: dict[int, http.client.HTTPConnection] = {}
    deadline = time.monotonic() + 180
    while len(found) < workers:
        assert server.poll() is None and time.monotonic() < deadline, "the workers did not all start"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            status = _get(connection, "/healthz")[0].status
        except OSError:
            status = None
        holder = _holder(_children(server.pid), port, connection.sock.getsockname()[1]) if status == 200 else None
        if holder is None or holder in found:
            connection.close()
            time.sleep(0.2)
        else:
            found[holder] = connection
        for kept in found.values():  # uvicorn closes a connection idle for 5 s
            assert _get(kept, "/healthz")[0].status == 200
    return found


def test_two_workers_on_postgres_answer_on_one_port_and_share_a_rate_limit(pg_url: str, tmp_path: Path) -> None:
    port = free_port()
    server = _serve_workers(2, _server_env(tmp_path, database_url=pg_url, metrics_requests_per_minute="2"), port)
    try:
        workers = _one_connection_per_worker(server, port, 2)
        (first, to_first), (second, to_second) = workers.items()
        assert first != second and {first, second} <= set(_children(server.pid))
        scraped = [_get(to_first, "/metrics") for _ in range(2)]
        assert [response.status for response, _ in scraped] == [200, 200]
        metrics = scraped[0][1].decode()  # every process's, added up from PROMETHEUS_MULTIPROC_DIR's files
        assert "support_turns_running" in metrics and "python_info" not in metrics
        refused, _ = _get(to_second, "/metrics")  # the other process: the address's bucket is empty there too
        assert refused.status == 429 and 1 <= int(refused.headers["Retry-After"]) <= 30
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=60)
    assert "Started server process" in output
