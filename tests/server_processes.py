"""Real server processes on loopback ports, for the multi-process tests and ``scripts/bench_cluster.py``: started
at once (processes on one database then start one after another), used once each answers ``/healthz``, stopped at
the end."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[1]
READY_SECONDS = 180.0
"""How long a process may take to answer ``/healthz``: the first on a new database seeds it, and a busy 2-core
machine loads slowly."""


def api_environment(url: str, data_dir: Path, secret: str, **settings: str) -> dict[str, str]:
    """The environment of one API process on the database at ``url``, its data in ``data_dir`` and its policy file
    beside it: ``settings`` are ``SUPPORT_<NAME>`` values."""
    return {**os.environ, "SUPPORT_DATABASE_URL": url, "SUPPORT_JWT_SECRET": secret,
            "SUPPORT_POLICY_PATH": str(data_dir.parent / "policy.yaml"), "SUPPORT_DATA_DIR": str(data_dir),
            **{f"SUPPORT_{name.upper()}": value for name, value in settings.items()}}


@dataclass
class ServerProcess:
    """``command --port P`` run from the repository's folder; ready once ``health`` answers 200."""

    base: str
    process: subprocess.Popen[bytes]
    health: str = "/healthz"

    @classmethod
    def start(cls, command: list[str], env: dict[str, str], *, health: str = "/healthz",
              log_folder: Path | None = None) -> ServerProcess:
        """Start ``command`` on a free loopback port with ``env`` as its whole environment; its output goes to
        ``log_folder/server-<port>.log``, or with this process's when no folder is given."""
        port = free_port()
        command = [*command, "--port", str(port)]
        if log_folder is None:
            process = subprocess.Popen(command, cwd=ROOT, env=env)
        else:
            with (log_folder / f"server-{port}.log").open("wb") as output:
                process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        return cls(f"http://127.0.0.1:{port}", process, health)

    def wait_ready(self, seconds: float = READY_SECONDS) -> None:
        """Return once ``health`` answers 200; fail if the process stops or ``seconds`` pass first."""
        deadline = time.monotonic() + seconds
        while True:
            assert self.process.poll() is None, f"server process on {self.base} stopped"
            assert time.monotonic() < deadline, f"server process on {self.base} did not become ready"
            try:
                if httpx.get(f"{self.base}{self.health}").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)


@contextmanager
def server_processes(command: list[str], envs: list[dict[str, str]], *, health: str = "/healthz",
                     log_folder: Path | None = None) -> Iterator[list[ServerProcess]]:
    """One process of ``command`` per environment, all started at once; yields them once each is ready, and stops
    them (SIGTERM, a clean shutdown) when the block ends."""
    processes = [ServerProcess.start(command, env, health=health, log_folder=log_folder) for env in envs]
    try:
        for server in processes:
            server.wait_ready()
        yield processes
    finally:
        for server in processes:
            server.process.terminate()
        for server in processes:
            server.process.wait(timeout=30)
