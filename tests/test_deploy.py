"""The team deployment files in deploy/: they agree with the instance config, the workspace and the image.

No Docker engine is here, so the images were never run: the compose file is checked against what its
services load (the instance config, the workspace, the code location) here, and tests/test_stack.py starts
its services as local processes (`make stack`) and checks them against it.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from mac_assets.infra import lake
from mac_assets.infra.settings import load_settings

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
SERVICES = COMPOSE["services"]
DAGSTER_SERVICES = ("user_code", "webserver", "daemon")


def instance_variables() -> set[str]:
    """Every environment variable deploy/dagster.postgres.yaml reads."""
    return set(re.findall(r"env: (\w+)", (DEPLOY / "dagster.postgres.yaml").read_text()))


def image_path(source: str) -> str:
    (target,) = re.findall(rf"^COPY {re.escape(source)} (\S+)$", DOCKERFILE, flags=re.M)
    return target


def test_every_dagster_service_gets_what_the_instance_config_reads():
    dagster_home = re.search(r"^ENV DAGSTER_HOME=(\S+)$", DOCKERFILE, flags=re.M).group(1)
    assert image_path("deploy/dagster.postgres.yaml") == f"{dagster_home}/dagster.yaml"
    for name in DAGSTER_SERVICES:
        environment = SERVICES[name]["environment"]
        assert instance_variables() <= set(environment), name
        assert environment["DAGSTER_HOME"] == dagster_home
        assert environment["DAGSTER_EVENT_BATCH_SIZE"] == "200"
    assert SERVICES["user_code"]["environment"]["DAGSTER_PG_HOST"] == "pgbouncer"  # through the pooler


def test_the_webserver_and_daemon_load_the_code_server_the_compose_file_starts():
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())["load_from"][0]["grpc_server"]
    command = SERVICES["user_code"]["command"]
    assert command[:3] == ["dagster", "api", "grpc"]  # the gRPC server is the main process: no child to lose
    port = command[command.index("-p") + 1]
    assert workspace["host"] == "user_code" and str(workspace["port"]) == port
    local = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"][0]["python_module"]
    assert command[command.index("-m") + 1] == local["module_name"]
    assert workspace["location_name"] == local["location_name"] == command[command.index("--location-name") + 1]
    for name in ("webserver", "daemon"):
        assert image_path("deploy/workspace.yaml") in SERVICES[name]["command"]
        assert SERVICES[name]["depends_on"] == {"user_code": {"condition": "service_healthy"}}
    # Supervised: restarted when it exits, healthy once the server answers (it loads the location first).
    assert SERVICES["user_code"]["healthcheck"]["test"] == ["CMD", "dagster", "api", "grpc-health-check", "-p", port]
    assert all(service["restart"] == "unless-stopped" for service in SERVICES.values())


def test_the_unauthenticated_webserver_is_published_on_this_hosts_loopback_only():
    assert [service.get("ports") for service in SERVICES.values() if service.get("ports")] == [["127.0.0.1:3000:3000"]]


def test_run_pages_show_the_logs_the_workers_write_beside_the_code_server():
    home = SERVICES["webserver"]["environment"]["DAGSTER_HOME"]
    for name in DAGSTER_SERVICES:
        assert f"compute_logs:{home}/storage" in SERVICES[name]["volumes"], name  # Dagster's local compute logs


def test_pgbouncer_holds_the_passwords_scram_secret_not_the_password():
    bouncer = SERVICES["pgbouncer"]
    (config,) = bouncer["configs"]
    assert config["target"] == bouncer["environment"]["AUTH_FILE"] and bouncer["environment"]["AUTH_TYPE"] == "scram-sha-256"
    users = COMPOSE["configs"][config["source"]]["content"]
    assert "${DAGSTER_PG_SCRAM_SECRET:?" in users and "DAGSTER_PG_PASSWORD" not in users
    assert not any("DAGSTER_PG_PASSWORD" in str(value) for value in bouncer["environment"].values())


def test_the_runs_write_a_lake_in_the_instance_database_and_secrets_come_from_the_environment():
    writers = [name for name, service in SERVICES.items() if "MAC_DUCKDB_PATH" in service.get("environment", {})]
    assert writers == ["user_code"]  # runs execute beside the code server
    code = SERVICES["user_code"]["environment"]
    settings = load_settings(code | {lake.DATA_PATH_VARIABLE: "/lake/data/"})
    assert lake.is_lake(settings.duckdb_path) and "password" not in settings.duckdb_path  # printed in logs
    database = dict(pair.split("=") for pair in lake.catalog(settings.duckdb_path).removeprefix("postgres:").split())
    postgres = SERVICES["postgres"]["environment"]
    assert (database["host"], database["user"], database["dbname"]) == ("postgres", postgres["POSTGRES_USER"],
                                                                       postgres["POSTGRES_DB"])
    assert code["PGPASSWORD"] == postgres["POSTGRES_PASSWORD"]
    text = (DEPLOY / "compose.yaml").read_text()
    assert "${DAGSTER_PG_PASSWORD:?" in text and "${FRED_API_KEY:?" in text
    assert "pip install --no-cache-dir -c constraints.txt '.[lake]' && python -m mac_assets.infra.lake" in DOCKERFILE


def test_the_helm_values_define_the_team_instance_one_pod_per_run_and_the_code_servers_environment():
    values = yaml.safe_load((DEPLOY / "helm-values.yaml").read_text())
    team = yaml.safe_load((DEPLOY / "dagster.postgres.yaml").read_text())
    database, postgres = team["storage"]["custom"]["config"]["postgres_db"], values["postgresql"]
    assert not postgres["enabled"] and postgres["postgresqlScheme"] == database["scheme"]
    assert (postgres["postgresqlHost"], postgres["service"]["port"]) == (SERVICES["user_code"]["environment"]["DAGSTER_PG_HOST"],
                                                                         int(SERVICES["user_code"]["environment"]["DAGSTER_PG_PORT"]))
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["maxConcurrentRuns"] == team["concurrency"]["runs"]["max_concurrent_runs"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"  # one pod per run; the run executes in-process inside
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == SERVICES["user_code"]["command"][
        SERVICES["user_code"]["command"].index("-m") + 1]
    env = {item["name"]: item["value"] for item in deployment["env"]}
    compose = SERVICES["user_code"]["environment"]
    assert env["MAC_DUCKDB_PATH"] == compose["MAC_DUCKDB_PATH"] and env["MAC_DUCKDB_PATH"].startswith(lake.PREFIX)
    assert "PGPASSWORD" not in env and "FRED_API_KEY" not in env  # secrets come from the mac-secrets Secret
    assert {"name": "mac-secrets"} in values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]
    assert load_settings(env).bi_path.startswith("/published/")


def test_make_honours_a_callers_dagster_home_and_never_links_over_its_instance_file(tmp_path):
    """`DAGSTER_HOME=… make run` runs on that instance (a PostgreSQL one, say), not on the repository's."""
    def make(*args: str) -> str:
        return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=60, env=os.environ | {"DAGSTER_HOME": str(tmp_path)}).stdout

    assert make("-s", "--eval", "seen: ; @echo $$DAGSTER_HOME", "seen").strip() == str(tmp_path)
    assert f"ln -sfn {REPO}/dagster.yaml {tmp_path}/dagster.yaml" in make("-n", "run")  # a home without one
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert "ln -sfn" not in make("-n", "run")


def test_make_stack_starts_over_a_killed_stack_but_never_clears_a_folder_it_did_not_make(tmp_path):
    from scripts.servers import recorded
    from scripts.stack import MARKER, StackError, _prepare, running_parts

    mine = tmp_path / "mine"
    (mine / "logs").mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(StackError, match="not made by make stack"):
        _prepare(mine)
    assert (mine / "notes.txt").read_text() == "keep me"

    killed = tmp_path / "killed"  # a stack whose processes all died: pid files and PostgreSQL's left behind
    (killed / "logs").mkdir(parents=True)
    (killed / "postgres" / "data").mkdir(parents=True)
    (killed / MARKER).write_text("{}")
    gone = subprocess.Popen(["true"])
    gone.wait()
    (killed / "logs" / "daemon.pid").write_text(f"{gone.pid} 1\n")
    (killed / "postgres" / "data" / "postmaster.pid").write_text(f"{gone.pid}\n")
    (killed / "logs" / "webserver.pid").write_text(f"{os.getpid()} 1\n")  # a live pid, but another process's start
    assert recorded(killed / "logs" / "webserver.pid") is None and running_parts(killed) == []
    _prepare(killed)
    assert sorted(p.name for p in killed.iterdir()) == ["logs"]
