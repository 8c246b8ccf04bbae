"""Throwaway servers on free 127.0.0.1 ports for the tests and the bench: PostgreSQL, PgBouncer, an S3 endpoint.

PostgreSQL and PgBouncer refuse to run as root, so as root both run as the `postgres` user Debian's
package creates (`make postgres` installs them); the S3 endpoint is moto's server (the dev extra).
Without a binary, `Unavailable` says what is missing (the tests turn it into a skip). Everything
started here is stopped, and its files removed, when the context ends.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


class Unavailable(RuntimeError):
    """A server this machine cannot start (its binaries are not installed)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

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
        raise Unavailable("PostgreSQL is not installed (make postgres installs it when run as root)")
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
        raise Unavailable("PgBouncer is not installed (make postgres installs it when run as root)")
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
    try:
        with _running([*owner, binary, str(config)], lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close(),
                      lambda: f"PgBouncer did not start: {(root / 'pgbouncer.log').read_text()[-2000:]}"):
            yield server | {"DAGSTER_PG_PORT": str(port)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _running(command: list[str], ready, failure):
    """Start `command`, wait (30 s at most) until `ready()` stops raising OSError, stop the process at the end."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(failure()) from None
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def create_database(server: dict, name: str) -> dict:
    """A new, empty database on `server` (e.g. one lake catalog per test); its DAGSTER_PG_* variables."""
    import psycopg2

    con = psycopg2.connect(host=server["DAGSTER_PG_HOST"], port=server["DAGSTER_PG_PORT"], user=USER,
                           password=server["DAGSTER_PG_PASSWORD"], dbname=server["DAGSTER_PG_DB"])
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'create database "{name}"')
    finally:
        con.close()
    return server | {"DAGSTER_PG_DB": name}


def lake_catalog(server: dict) -> str:
    """The MAC_DUCKDB_PATH of a DuckLake whose catalog is the server's database (password: PGPASSWORD)."""
    return (f"ducklake:postgres:dbname={server['DAGSTER_PG_DB']} host={server['DAGSTER_PG_HOST']} "
            f"port={server['DAGSTER_PG_PORT']} user={server['DAGSTER_PG_USERNAME']}")


S3_KEY_ID, S3_SECRET = "mac-test-key", "mac-test-secret"


@contextmanager
def s3_server(bucket: str = "mac-lake"):
    """moto's S3 endpoint with one empty bucket; yields the AWS_* variables that reach it."""
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        raise Unavailable("moto's server is not installed (the dev extra brings moto[server])")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with _running([str(binary), "-H", "127.0.0.1", "-p", str(port)],
                  lambda: urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"),
                                                 timeout=2).close(),
                  lambda: "moto's S3 server did not start"):
        yield {"AWS_ACCESS_KEY_ID": S3_KEY_ID, "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_REGION": "us-east-1",
               "AWS_ENDPOINT_URL": endpoint, "bucket": bucket}
