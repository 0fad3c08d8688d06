"""A throwaway PostgreSQL server (Debian's ``postgresql`` package) on loopback, for tests."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.live_server import free_port


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run as the package's ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres() -> Iterator[str]:
    """Start a server in a temporary folder; yields a ``postgresql://`` URL of database ``support``."""
    binaries = _binaries()
    assert binaries is not None, "install Debian's postgresql: apt-get install -y postgresql"
    with tempfile.TemporaryDirectory(prefix="support-pg-") as name:  # outside pytest's root-only folders
        folder = Path(name)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        yield from _serve(binaries, folder)


def _serve(binaries: Path, folder: Path) -> Iterator[str]:
    data, port = folder / "pgdata", free_port()
    subprocess.run(_as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "support", "--auth=trust",
                                 "-E", "UTF8"]), check=True, capture_output=True)
    server = subprocess.Popen(_as_postgres([str(binaries / "postgres"), "-D", str(data), "-p", str(port),
                                            "-h", "127.0.0.1", "-k", str(folder)]),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             capture_output=True).returncode != 0:
            assert time.monotonic() < deadline and server.poll() is None, "postgres did not start"
            time.sleep(0.2)
        subprocess.run([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "support", "support"],
                       check=True, capture_output=True)
        yield f"postgresql://support@127.0.0.1:{port}/support"
    finally:
        server.terminate()
        server.wait(timeout=30)
