"""A throwaway PostgreSQL server for tests: its own cluster on a free 127.0.0.1 port, stopped afterwards.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user Debian's package
creates (`make postgres` installs it). Without the binaries the tests that need a server skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

USER, PASSWORD, DATABASE = "mac", "mac-test-password", "dagster"


def binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server():
    """Yield the DAGSTER_PG_* variables of a fresh server (password authentication over TCP)."""
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (make test installs it when run as root)")
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="mac-pg-"))
    root.chmod(0o755)
    data, sockets, password_file = root / "data", root / "sockets", root / "password"
    sockets.mkdir()
    password_file.write_text(PASSWORD)
    if as_owner:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        shutil.chown(password_file, "postgres")

    def run(*args: str) -> None:
        subprocess.run([*as_owner, *args], check=True, capture_output=True, timeout=120)

    port = free_port()
    run(str(bin_dir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={password_file}", "-A", "scram-sha-256",
        "-E", "UTF8", "--no-sync")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(root / "server.log"), "-o",
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")
    try:
        env = {"PGPASSWORD": PASSWORD} | os.environ
        subprocess.run([*as_owner, "env", f"PGPASSWORD={PASSWORD}", str(bin_dir / "createdb"), "-h", "127.0.0.1",
                        "-p", str(port), "-U", USER, DATABASE], check=True, capture_output=True, timeout=60, env=env)
        yield {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_USERNAME": USER,
               "DAGSTER_PG_PASSWORD": PASSWORD, "DAGSTER_PG_DB": DATABASE}
    finally:
        subprocess.run([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
