"""The knowledge base on a real Chroma server (``chroma run``) over loopback, as with ``SUPPORT_CHROMA_URL``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from knowledge import KnowledgeBase, ensure_default_help_center
from knowledge.ingest import HELP_CENTER
from tests.conftest import make_settings

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_heartbeat(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"chroma run exited with {server.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1, trust_env=False).is_success:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # not listening yet
    pytest.fail(f"chroma run did not answer within {STARTUP_SECONDS}s:\n{log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("chroma-server")
    log, port = folder / "server.log", free_port()
    command = [str(Path(sys.executable).with_name("chroma")), "run", "--path", str(folder / "db")]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_heartbeat(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_help_center_ingests_and_answers_on_a_chroma_server(tmp_path: Path, chroma_url: str) -> None:
    settings = make_settings(tmp_path, chroma_url=chroma_url, chroma_path=None)
    report = ensure_default_help_center(settings)
    assert report is not None
    assert (len(report.added), report.errors) == (len(list(HELP_CENTER.glob("*.md"))), {})
    assert ensure_default_help_center(settings) is None  # the digest lives in the server's collection metadata

    passages = KnowledgeBase.from_settings(settings).search("how long do i have to return something")
    assert passages[0].source == "help_center/returns-policy.md"
    assert all(p.section for p in passages)
    assert not (tmp_path / "chroma").exists()  # nothing went to a local Chroma folder
