"""`make stack` / `make stack-down`: the team deployment of deploy/ as local processes, from the files compose uses.

    python -m scripts.stack up [FOLDER]     start it (default .stack/), print the UI's address
    python -m scripts.stack down [FOLDER]   stop exactly what `up` started there

PostgreSQL, PgBouncer and an S3 endpoint (moto) come from scripts/servers.py, as in the tests and the bench.
The Dagster services (code server, webserver, daemon) run the commands and the environment of
deploy/compose.yaml, translated the way the containers would see them: each container path (DAGSTER_HOME,
the workspace file, the volumes) becomes a folder of the stack, each service address a free 127.0.0.1 port,
and every `${VARIABLE}` takes its value from the stack (the password it generated, the S3 endpoint) or the
caller's environment. Beyond compose: the demo source unless MAC_SOURCE says otherwise (compose's default is
live, which needs FRED_API_KEY), and the caller's other MAC_* settings (MAC_HISTORY_START, ...) reach the code
server. The lake's data go to the S3 endpoint unless MAC_LAKE_DATA_PATH is set.

Each Dagster service runs under a supervisor (`supervise`, below) that restarts it when it exits, as compose's
`restart: unless-stopped` does; logs of every process go to FOLDER/logs. Every process is recorded in a pid
file with its start time, and `down` signals only those, so it never stops anything it did not start.
A stack that was killed leaves nothing that blocks the next `up`, which starts afresh in the same folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
TEAM_INSTANCE = DEPLOY / "dagster.postgres.yaml"
DEFAULT_FOLDER = ROOT / ".stack"
MARKER = "stack.json"  # written by `up`: a folder without it was not made by this script and is never removed
DAGSTER_SERVICES = ("user_code", "webserver", "daemon")  # started in this order (see `up`)
# What the image's base environment holds (the services' programs need them); the stack takes them from its caller.
# LC_CTYPE too: Python sets it (to C.UTF-8) in a shell with no locale, so the services would inherit it anyway (PEP 538).
BASE_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
LIVE_ONLY = {"FRED_API_KEY"}  # required by compose for the live source; left out when the stack runs another source
READY_SECONDS = 180  # the code location loads in the code server, then in the webserver and the daemon
RESTART_PAUSES = (1, 2, 5, 10, 30)  # seconds between restarts of a service that keeps exiting
STOP_SECONDS = 10  # a service still running this long after SIGTERM is killed (as `docker compose stop` does)
STABLE_SECONDS = 60  # a service that ran this long before it exited is restarted after the first pause again


class StackError(RuntimeError):
    """Why the stack cannot start or stop, in one line."""


def _servers():
    from scripts import servers

    return servers


@dataclass
class Service:
    """One Dagster service as compose describes it, translated for this machine."""

    name: str
    command: list[str]
    env: dict[str, str]
    volumes: dict[str, Path] = field(default_factory=dict)  # container path -> local folder


def interpolate(text: str, variables: dict[str, str]) -> str | None:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` in `text`; None when a required VAR is unset."""
    missing = []

    def value(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        if variables.get(name):
            return variables[name]
        if operator == ":?":
            missing.append(name)
            return ""
        return argument if operator == ":-" else variables.get(name, "")

    result = re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", value, text)
    return None if missing else result


def translate(compose: dict, folder: Path, variables: dict[str, str], addresses: dict[tuple[str, int], int],
              passed_through: dict[str, str]) -> dict[str, Service]:
    """The Dagster services of `compose` as local processes in `folder`.

    `addresses` maps (service, container port) to the local port that stands for it; `passed_through` are
    settings added to the code server's environment.
    """
    image_paths = {"/opt/dagster/home": folder / "home", "/opt/dagster/workspace.yaml": folder / "workspace.yaml"}
    bin_dir = Path(sys.executable).parent
    services = {}
    for name in DAGSTER_SERVICES:
        spec = compose["services"][name]
        volumes = {target: folder / "volumes" / volume for volume, target in
                   (entry.split(":")[:2] for entry in spec.get("volumes", []))}
        paths = image_paths | volumes

        def local(value: str, paths=paths) -> str:
            for container in sorted(paths, key=len, reverse=True):
                if value == container or value.startswith(container + "/"):
                    return str(paths[container]) + value[len(container):]
            return value

        env = {}
        for key, raw in spec.get("environment", {}).items():
            value = interpolate(str(raw), variables)
            if value is None:
                if key in LIVE_ONLY and variables.get("MAC_SOURCE") != "live":
                    continue
                raise StackError(f"{key}: compose requires it ({raw}); set it in the environment")
            env[key] = local(value)
        if "DAGSTER_PG_HOST" in env:  # the instance's database, by service name and container port
            env["DAGSTER_PG_PORT"] = str(addresses[(env["DAGSTER_PG_HOST"], int(env["DAGSTER_PG_PORT"]))])
            env["DAGSTER_PG_HOST"] = "127.0.0.1"
        for key, value in env.items():  # libpq addresses (the lake's catalog): host=... port=...
            env[key] = re.sub(r"host=(\w+) port=(\d+)",
                              lambda m: f"host=127.0.0.1 port={addresses[(m.group(1), int(m.group(2)))]}", value)
        if "MAC_DUCKDB_PATH" in env:  # the service that runs the code
            env |= {k: v for k, v in passed_through.items() if k not in env}
        command = [str(bin_dir / spec["command"][0]), *(local(arg) for arg in spec["command"][1:])]
        if "-h" in command:
            command[command.index("-h") + 1] = "127.0.0.1"
        if listens_on(spec["command"]):
            command[command.index("-p") + 1] = str(addresses[(name, listens_on(spec["command"]))])
        services[name] = Service(name, command, env, volumes)
    return services


def listens_on(command: list[str]) -> int | None:
    """The port a service's command serves on (its `-p`), if any."""
    return int(command[command.index("-p") + 1]) if "-p" in command else None


def workspace(folder: Path, addresses: dict[tuple[str, int], int]) -> Path:
    """deploy/workspace.yaml with the code server's address on this machine."""
    spec = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    for entry in spec["load_from"]:
        server = entry["grpc_server"]
        server["port"] = addresses[(server["host"], int(server["port"]))]
        server["host"] = "127.0.0.1"
    path = folder / "workspace.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def running_parts(folder: Path) -> list[str]:
    """What of a stack in `folder` still runs: processes of its pid files, and PostgreSQL (its own pid file)."""
    servers = _servers()
    alive = {p.name.split(".")[0] for p in (folder / "logs").glob("*.pid") if servers.recorded(p) is not None}
    try:
        postmaster = int((folder / "postgres" / "data" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, 0)
        alive.add("postgres")
    except (OSError, ValueError, IndexError):
        pass  # none, or a cluster that was killed: nothing runs
    return sorted(alive)


def _prepare(folder: Path) -> None:
    """An empty stack folder: a stopped stack's folder is cleared; anything else that is in the way is refused."""
    if folder.exists():
        if not (folder / MARKER).exists():
            if any(folder.iterdir()):
                raise StackError(f"{folder} exists and was not made by make stack; choose another folder (STACK_DIR)")
        elif running_parts(folder):
            raise StackError(f"a stack is already running in {folder} ({', '.join(running_parts(folder))}): "
                             "make stack-down stops it")
        shutil.rmtree(folder)
    (folder / "logs").mkdir(parents=True)
    folder.chmod(0o755)
    _servers().owned(folder / "logs")  # PostgreSQL and PgBouncer write their logs there too


def up(folder: Path = DEFAULT_FOLDER, instance_file: Path = TEAM_INSTANCE, environ: dict | None = None) -> dict:
    """Start the stack in `folder`; returns what `stack.json` records (addresses, services, the UI's URL)."""
    servers = _servers()
    environ = dict(os.environ if environ is None else environ)
    compose = yaml.safe_load(COMPOSE.read_text())
    folder = folder.resolve()
    _prepare(folder)
    logs = folder / "logs"
    try:
        postgres_env = compose["services"]["postgres"]["environment"]
        password = secrets.token_urlsafe(24)
        pg_root, bouncer_root = folder / "postgres", folder / "pgbouncer"
        for path in (pg_root, bouncer_root):
            path.mkdir(mode=0o755)
            servers.owned(path)
        pg = servers.start_postgres(pg_root, user=postgres_env["POSTGRES_USER"], password=password,
                                    database=postgres_env["POSTGRES_DB"], log=logs / "postgres.log")
        bouncer = servers.start_pgbouncer(bouncer_root, pg, log_folder=logs)
        variables = environ | {"DAGSTER_PG_PASSWORD": password, "MAC_SOURCE": environ.get("MAC_SOURCE", "demo")}
        if not environ.get("MAC_LAKE_DATA_PATH"):
            s3 = servers.start_s3(logs)
            variables |= {k: v for k, v in s3.items() if k != "bucket"} | {
                "MAC_LAKE_DATA_PATH": f"s3://{s3['bucket']}/lake/"}
        pgbouncer_port = compose["services"]["pgbouncer"]["environment"]["LISTEN_PORT"]
        addresses = {("postgres", 5432): int(pg["DAGSTER_PG_PORT"]),
                     ("pgbouncer", int(pgbouncer_port)): int(bouncer["DAGSTER_PG_PORT"])}
        addresses |= {(name, port): servers.free_port() for name in DAGSTER_SERVICES
                      if (port := listens_on(compose["services"][name]["command"]))}
        passed_through = {k: v for k, v in environ.items() if k.startswith("MAC_")}
        services = translate(compose, folder, variables, addresses, passed_through)
        home = folder / "home"
        home.mkdir()
        (home / "dagster.yaml").symlink_to(instance_file.resolve())  # what the image copies into DAGSTER_HOME
        for service in services.values():
            for container, local in service.volumes.items():
                local.mkdir(parents=True, exist_ok=True)
                inside_home = Path(container).is_relative_to("/opt/dagster/home")
                link = home / Path(container).relative_to("/opt/dagster/home") if inside_home else None
                if link is not None and not link.exists():
                    link.symlink_to(local)
        workspace(folder, addresses)
        url = f"http://127.0.0.1:{addresses[('webserver', listens_on(compose['services']['webserver']['command']))]}"
        record = {"url": url, "addresses": {f"{h}:{p}": local for (h, p), local in addresses.items()},
                  "services": {n: {"command": s.command, "env": s.env, "volumes": {k: str(v) for k, v in s.volumes.items()}}
                               for n, s in services.items()}}
        marker = folder / MARKER
        marker.touch(mode=0o600)
        marker.write_text(json.dumps(record, indent=2))
        # In compose's order (both others wait for a healthy code server); the daemon last, once the UI shows
        # the location, so that what is requested at once (a backfill, say) meets its first look.
        for name in DAGSTER_SERVICES:
            service = services[name]
            supervisor = [sys.executable, "-m", "scripts.stack", "supervise", str(logs), name, "--", *service.command]
            base = {k: environ[k] for k in BASE_VARIABLES if k in environ}
            servers.start_process(name, supervisor, logs, env=base | service.env, cwd=ROOT)
            if name == "user_code":
                _wait_for_code_server(compose, addresses, logs, service.env)
            elif name == "webserver":
                _wait_for_ui(url, logs)
        return record
    except BaseException:
        down(folder)
        raise


def health_check_command(compose: dict, addresses: dict) -> list[str]:
    """compose's health check of the code server, against its local port."""
    test = compose["services"]["user_code"]["healthcheck"]["test"]
    command = [str(Path(sys.executable).parent / test[1]), *test[2:]]
    at = command.index("-p") + 1
    command[at] = str(addresses[("user_code", int(command[at]))])
    return command


def _wait_for_code_server(compose: dict, addresses: dict, logs: Path, env: dict) -> None:
    check = health_check_command(compose, addresses)
    deadline = time.monotonic() + READY_SECONDS
    while subprocess.run(check, env=env, capture_output=True, timeout=60).returncode != 0:
        if _servers().recorded(logs / "user_code.pid") is None or time.monotonic() > deadline:
            raise StackError(f"the code server did not answer its health check: {_tail(logs / 'user_code.log')}")
        time.sleep(1)


def _wait_for_ui(url: str, logs: Path) -> None:
    """Until the webserver answers and shows the code location loaded."""
    query = json.dumps({"query": "{ workspaceOrError { ... on Workspace { locationEntries { "
                                 "locationOrLoadError { __typename } } } } }"}).encode()
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            request = urllib.request.Request(f"{url}/graphql", data=query, headers={"Content-Type": "application/json"})
            entries = json.load(urllib.request.urlopen(request, timeout=10))["data"]["workspaceOrError"]["locationEntries"]
            if entries and all(e["locationOrLoadError"] and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
                               for e in entries):
                return
        except (OSError, KeyError, TypeError, ValueError):
            pass
        if time.monotonic() > deadline or _servers().recorded(logs / "webserver.pid") is None:
            raise StackError(f"the webserver did not show the code location loaded: {_tail(logs / 'webserver.log')}")
        time.sleep(1)


def down(folder: Path = DEFAULT_FOLDER) -> list[str]:
    """Stop what `up` started in `folder` (Dagster services first, then the servers); names what was running."""
    servers = _servers()
    folder = folder.resolve()
    if not (folder / MARKER).exists() and not (folder / "logs").exists():
        return []
    logs = folder / "logs"
    stopped = []
    for name in (*reversed(DAGSTER_SERVICES), "s3", "pgbouncer"):
        for pid_file in (logs / f"{name}.pid", logs / f"{name}.child.pid"):  # the supervisor, then what it ran
            if servers.stop_process(pid_file):
                stopped.append(pid_file.stem)
    if (folder / "postgres" / "data" / "postmaster.pid").exists():
        servers.stop_postgres(folder / "postgres")
        stopped.append("postgres")
    return stopped


def supervise(logs: Path, name: str, command: list[str]) -> int:
    """Run `command` in a session of its own and start it again whenever it exits, until SIGTERM or SIGINT.

    The child is recorded in `<logs>/<name>.child.pid`; a signal to the supervisor stops it (SIGTERM, then
    SIGKILL after STOP_SECONDS) before the supervisor exits.
    """
    servers = _servers()
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pid_file, restarts = logs / f"{name}.child.pid", 0
    while not stopping:
        started = time.monotonic()
        child = servers.start_process(f"{name}.child", command, logs, log=logs / f"{name}.log")
        while child.poll() is None and not stopping:
            time.sleep(0.2)
        if stopping:
            servers.stop_process(pid_file, STOP_SECONDS)
            break
        pid_file.unlink(missing_ok=True)
        restarts = 0 if time.monotonic() - started > STABLE_SECONDS else restarts + 1
        pause = RESTART_PAUSES[min(restarts, len(RESTART_PAUSES) - 1)]
        print(f"supervise: {name} exited with status {child.returncode}; starting it again in {pause} s", flush=True)
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline and not stopping:
            time.sleep(0.2)
    return 0


def _tail(path: Path) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-5:])
    except OSError:
        return f"(no {path.name})"


def main(argv: list[str]) -> int:
    if argv[:1] == ["supervise"]:
        separator = argv.index("--")
        return supervise(Path(argv[1]), argv[2], argv[separator + 1:])
    if not argv or argv[0] not in ("up", "down") or len(argv) > 2:
        print("\n".join(__doc__.splitlines()[2:4]), file=sys.stderr)
        return 2
    folder = Path(argv[1]) if len(argv) == 2 else DEFAULT_FOLDER
    try:
        if argv[0] == "up":
            record = up(folder)
            print(f"Stack running in {folder} (logs in {folder / 'logs'}); Dagster UI: {record['url']}\n"
                  "make stack-down stops it.")
        else:
            stopped = down(folder)
            print(f"Stopped {', '.join(stopped)}." if stopped else f"Nothing of a stack was running in {folder}.")
    except (StackError, RuntimeError) as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
