"""Servers on free 127.0.0.1 ports for the tests, the bench and `make stack`: PostgreSQL, PgBouncer, an S3 endpoint.

Each server is started into a folder of its own (data, configuration, log) and stopped from there. Tests and
the bench use the context managers, which stop the server and remove its folder at the end; `make stack`
(scripts/stack.py) starts the same servers into its own folder and `make stack-down` stops them. Every
long-running process is recorded in a pid file with its start time, so a stop signals the process that was
started and never one that got the same pid later.

PostgreSQL and PgBouncer refuse to run as root, so as root both run as the `postgres` user Debian's
package creates (`make postgres` installs them); the S3 endpoint is moto's server (the dev extra).
Without a binary, `Unavailable` says what is missing (the tests turn it into a skip).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from mac_assets.infra.runs import process_start


class Unavailable(RuntimeError):
    """A server this machine cannot start (its binaries are not installed)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


USER, PASSWORD, DATABASE = "mac", "mac-test-password", "dagster"
START_SECONDS = 60  # a server that is not answering after this long did not start
STATS_SECONDS = 1.2  # PostgreSQL's backends publish their counters at most once a second


def binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def as_owner() -> dict:
    """subprocess arguments that run PostgreSQL's programs as `postgres` when this is root (they refuse root)."""
    return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}


def owned(path: Path) -> Path:
    """`path`, made the PostgreSQL programs' own (see `as_owner`)."""
    if as_owner():
        shutil.chown(path, "postgres", "postgres")
    return path


def scratch_dir(prefix: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    return owned(root)


def start_process(name: str, command: list[str], folder: Path, env: dict | None = None, cwd: Path | None = None,
                  log: Path | None = None, **popen) -> subprocess.Popen:
    """Start `command` in a session of its own, output to `log` (default `<folder>/<name>.log`), recorded in
    `<folder>/<name>.pid` as "pid start-time"."""
    with open(log or folder / f"{name}.log", "ab") as out:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True, **popen)
    (folder / f"{name}.pid").write_text(f"{process.pid} {process_start(process.pid)}\n")
    return process


def recorded(pid_file: Path) -> int | None:
    """The pid in `pid_file` while that very process runs (same start time), else None."""
    try:
        pid, started = pid_file.read_text().split()
    except (OSError, ValueError):
        return None
    return int(pid) if process_start(int(pid)) == started and not _zombie(int(pid)) else None


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().decode(errors="replace").rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def stop_process(pid_file: Path, wait_seconds: float = 30) -> bool:
    """Stop the process `pid_file` records and its process group: SIGTERM, SIGKILL after `wait_seconds`.

    True when it was running. The pid file goes either way; a pid that now names another process is left alone.
    """
    pid = recorded(pid_file)
    try:
        if pid is None:
            return False
        for sig, seconds in ((signal.SIGTERM, wait_seconds), (signal.SIGKILL, 10)):
            try:
                os.killpg(pid, sig)  # started in a session of its own: the group is the process and its children
            except ProcessLookupError:
                return True
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child: reap it
                        return True
                except ChildProcessError:
                    if recorded(pid_file) is None:  # another process's child: gone (or a zombie its parent reaps)
                        return True
                time.sleep(0.1)
        return True
    finally:
        pid_file.unlink(missing_ok=True)


def wait_until(ready: Callable[[], object], alive: Callable[[], bool], failure: Callable[[], str],
               seconds: float = START_SECONDS) -> None:
    """Call `ready()` until it stops raising OSError; RuntimeError(failure()) once `alive()` is False or time is up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            ready()
            return
        except OSError:
            if not alive() or time.monotonic() > deadline:
                raise RuntimeError(failure()) from None
            time.sleep(0.2)


def start_postgres(root: Path, user: str = USER, password: str = PASSWORD, database: str = DATABASE,
                   port: int | None = None, log: Path | None = None) -> dict:
    """A new PostgreSQL cluster in `root` with `database` owned by `user` (password authentication over TCP),
    started, its log in `log` (default `<root>/postgres.log`); its DAGSTER_PG_* variables."""
    bin_dir = binaries()
    if bin_dir is None:
        raise Unavailable("PostgreSQL is not installed (make postgres installs it when run as root)")
    data, sockets, password_file = root / "data", root / "sockets", root / "password"
    sockets.mkdir(exist_ok=True)
    password_file.write_text(password)
    for path in (sockets, password_file):
        owned(path)
    port = port or free_port()
    try:
        for command in ([bin_dir / "initdb", "-D", data, "-U", user, f"--pwfile={password_file}", "-A", "scram-sha-256",
                         "-E", "UTF8", "--no-sync"],
                        [bin_dir / "pg_ctl", "-D", data, "-w", "-t", str(START_SECONDS), "-l", log or root / "postgres.log",
                         "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                         "start"]):
            subprocess.run([str(part) for part in command], check=True, capture_output=True, timeout=120, **as_owner())
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"PostgreSQL did not start in {root}: {exc.stderr.decode(errors='replace')[-2000:]}") from None
    finally:
        password_file.unlink()
    subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, database], check=True,
                   capture_output=True, timeout=60, env=os.environ | {"PGPASSWORD": password}, **as_owner())
    return {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_USERNAME": user,
            "DAGSTER_PG_PASSWORD": password, "DAGSTER_PG_DB": database}


def stop_postgres(root: Path, mode: str = "fast") -> None:
    """Stop the cluster in `root` (PostgreSQL keeps its own pid file, data/postmaster.pid); nothing if none runs."""
    bin_dir = binaries()
    if bin_dir is not None and (root / "data" / "postmaster.pid").exists():
        subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", mode, "-w", "stop"],
                       capture_output=True, timeout=120, **as_owner())


@contextmanager
def postgres_server():
    """Yield the DAGSTER_PG_* variables of a fresh server, stopped and removed at the end."""
    root = scratch_dir("mac-pg-")
    try:
        yield start_postgres(root)
    finally:
        stop_postgres(root, mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


def connect(server: dict, database: str | None = None):
    import psycopg2

    return psycopg2.connect(host=server["DAGSTER_PG_HOST"], port=server["DAGSTER_PG_PORT"],
                            user=server["DAGSTER_PG_USERNAME"], password=server["DAGSTER_PG_PASSWORD"],
                            dbname=database or server["DAGSTER_PG_DB"])


def activity(server: dict) -> tuple[int, int]:
    """Connections opened to the server's database and transactions ended in it, so far (PostgreSQL's counters)."""
    con = connect(server, "postgres")
    try:
        con.autocommit = True
        with con.cursor() as cur:
            time.sleep(STATS_SECONDS)
            cur.execute("select sessions, xact_commit + xact_rollback from pg_stat_database where datname = %s",
                        (server["DAGSTER_PG_DB"],))
            return cur.fetchone()
    finally:
        con.close()


def scram_secret(server: dict) -> str:
    """The SCRAM-SHA-256 secret PostgreSQL stores for the server's user (what PgBouncer's user file holds).

    With the same secret on both sides PgBouncer checks a client's password and logs in to PostgreSQL on its
    behalf without ever holding the password itself.
    """
    con = connect(server)
    try:
        with con.cursor() as cur:
            cur.execute("select rolpassword from pg_authid where rolname = current_user")
            (secret,) = cur.fetchone()
    finally:
        con.close()
    if not secret.startswith("SCRAM-SHA-256$"):
        raise RuntimeError(f"PostgreSQL stores the password of {server['DAGSTER_PG_USERNAME']!r} as something other "
                           "than a SCRAM-SHA-256 secret: set password_encryption = scram-sha-256 and set it again")
    return secret


def start_pgbouncer(root: Path, server: dict, port: int | None = None, log_folder: Path | None = None) -> dict:
    """PgBouncer in session mode (Dagster's event log listens for notifications) before `server`, configured in
    `root`, its pid file and log in `log_folder` (default `root`); the server's variables with PgBouncer's port.

    Its user file holds the password's SCRAM secret (from PostgreSQL), never the password itself.
    """
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        raise Unavailable("PgBouncer is not installed (make postgres installs it when run as root)")
    port, log_folder = port or free_port(), log_folder or root
    config, users = root / "pgbouncer.ini", root / "userlist.txt"
    users.touch(mode=0o600)
    users.write_text(f'"{server["DAGSTER_PG_USERNAME"]}" "{scram_secret(server)}"\n')
    config.write_text(f"""[databases]
* = host={server["DAGSTER_PG_HOST"]} port={server["DAGSTER_PG_PORT"]}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {users}
pool_mode = session
max_client_conn = 400
default_pool_size = 50
""")
    for path in (config, users):
        owned(path)
    process = start_process("pgbouncer", [binary, str(config)], log_folder, **as_owner())
    wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close(), lambda: process.poll() is None,
               lambda: f"PgBouncer did not start: {_tail(log_folder / 'pgbouncer.log')}")
    return server | {"DAGSTER_PG_PORT": str(port)}


@contextmanager
def pgbouncer_in_front(server: dict):
    """Yield `server`'s variables through a new PgBouncer, stopped and removed at the end."""
    root = scratch_dir("mac-pgbouncer-")
    try:
        yield start_pgbouncer(root, server)
    finally:
        stop_process(root / "pgbouncer.pid")
        shutil.rmtree(root, ignore_errors=True)


def create_database(server: dict, name: str) -> dict:
    """A new, empty database on `server` (e.g. one lake catalog per test); its DAGSTER_PG_* variables."""
    from psycopg2 import sql

    con = connect(server)
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    finally:
        con.close()
    return server | {"DAGSTER_PG_DB": name}


def lake_catalog(server: dict) -> str:
    """The MAC_DUCKDB_PATH of a DuckLake whose catalog is the server's database (password: PGPASSWORD)."""
    return (f"ducklake:postgres:dbname={server['DAGSTER_PG_DB']} host={server['DAGSTER_PG_HOST']} "
            f"port={server['DAGSTER_PG_PORT']} user={server['DAGSTER_PG_USERNAME']}")


S3_KEY_ID, S3_SECRET = "mac-test-key", "mac-test-secret"


def start_s3(root: Path, bucket: str = "mac-lake", port: int | None = None) -> dict:
    """moto's S3 endpoint with one empty bucket, started from `root`; the AWS_* variables that reach it."""
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        raise Unavailable("moto's server is not installed (the dev extra brings moto[server])")
    port = port or free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = start_process("s3", [str(binary), "-H", "127.0.0.1", "-p", str(port)], root)
    wait_until(lambda: urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"),
                                              timeout=2).close(),
               lambda: process.poll() is None, lambda: f"moto's S3 server did not start: {_tail(root / 's3.log')}")
    return {"AWS_ACCESS_KEY_ID": S3_KEY_ID, "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint, "bucket": bucket}


@contextmanager
def s3_server(bucket: str = "mac-lake"):
    """Yield the AWS_* variables of a new S3 endpoint with one empty bucket, stopped and removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="mac-s3-"))
    try:
        yield start_s3(root, bucket)
    finally:
        stop_process(root / "s3.pid")
        shutil.rmtree(root, ignore_errors=True)


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return f"(no {path.name})"
