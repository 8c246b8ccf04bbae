"""A throwaway PostgreSQL server for tests, and PgBouncer in front of it, each on a free 127.0.0.1 port.

PostgreSQL and PgBouncer refuse to run as root, so as root both run as the `postgres` user Debian's
package creates (`make postgres` installs them). Without the binaries the tests that need them skip.
Everything started here is stopped, and its files removed, when the context ends.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from instance_helpers import free_port

USER, PASSWORD, DATABASE = "mac", "mac-test-password", "dagster"


def binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def as_owner() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def scratch_dir(prefix: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    if as_owner():
        shutil.chown(root, "postgres")
    return root


@contextmanager
def postgres_server():
    """Yield the DAGSTER_PG_* variables of a fresh server (password authentication over TCP)."""
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (make test installs it when run as root)")
    owner, root = as_owner(), scratch_dir("mac-pg-")
    data, sockets, password_file = root / "data", root / "sockets", root / "password"
    sockets.mkdir()
    password_file.write_text(PASSWORD)
    if owner:
        shutil.chown(sockets, "postgres")
        shutil.chown(password_file, "postgres")

    def run(*args: str) -> None:
        subprocess.run([*owner, *args], check=True, capture_output=True, timeout=120)

    port = free_port()
    run(str(bin_dir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={password_file}", "-A", "scram-sha-256",
        "-E", "UTF8", "--no-sync")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(root / "server.log"), "-o",
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")
    try:
        env = os.environ | {"PGPASSWORD": PASSWORD}
        subprocess.run([*owner, "env", f"PGPASSWORD={PASSWORD}", str(bin_dir / "createdb"), "-h", "127.0.0.1",
                        "-p", str(port), "-U", USER, DATABASE], check=True, capture_output=True, timeout=60, env=env)
        yield {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_USERNAME": USER,
               "DAGSTER_PG_PASSWORD": PASSWORD, "DAGSTER_PG_DB": DATABASE}
    finally:
        subprocess.run([*owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def pgbouncer_in_front(server: dict):
    """PgBouncer in session mode (Dagster's event log listens for notifications) before `server`."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        pytest.skip("PgBouncer is not installed (make test installs it when run as root)")
    owner, root = as_owner(), scratch_dir("mac-pgbouncer-")
    port = free_port()
    config, users = root / "pgbouncer.ini", root / "userlist.txt"
    users.write_text(f'"{USER}" "{PASSWORD}"\n')
    config.write_text(f"""[databases]
{DATABASE} = host={server["DAGSTER_PG_HOST"]} port={server["DAGSTER_PG_PORT"]} dbname={DATABASE}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {users}
pool_mode = session
max_client_conn = 400
default_pool_size = 50
logfile = {root / "pgbouncer.log"}
""")
    if owner:
        for path in (config, users):
            shutil.chown(path, "postgres")
    process = subprocess.Popen([*owner, binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PgBouncer did not start: {(root / 'pgbouncer.log').read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield server | {"DAGSTER_PG_PORT": str(port)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)
