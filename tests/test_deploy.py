"""The team deployment files in deploy/: they agree with the instance config, the workspace and the image.

No Docker engine is here, so the compose file is checked against what its services load (the instance
config, the workspace, the code location), and the code-server wiring is run for real on 127.0.0.1.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance
from servers import free_port

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
    assert command[:3] == ["dagster", "code-server", "start"]
    assert workspace["host"] == "user_code" and str(workspace["port"]) == command[command.index("-p") + 1]
    local = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"][0]["python_module"]
    assert command[command.index("-m") + 1] == local["module_name"]
    assert workspace["location_name"] == local["location_name"]
    for name in ("webserver", "daemon"):
        assert image_path("deploy/workspace.yaml") in SERVICES[name]["command"]


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
    assert "pip install --no-cache-dir -c constraints.txt '.[postgres,lake]' && python -m mac_assets.infra.lake" in DOCKERFILE


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


@pytest.mark.process
def test_the_code_location_is_served_over_grpc_as_the_deployment_loads_it(tmp_path):
    """`dagster code-server start` as the user_code service runs it, read through deploy/workspace.yaml's shape."""
    port = free_port()
    command = SERVICES["user_code"]["command"]
    command = [str(Path(sys.executable).with_name("dagster")), *command[1:command.index("-h")], "-h", "127.0.0.1",
               "-p", str(port)]
    env = os.environ | {"DAGSTER_HOME": str(tmp_path), "MAC_DUCKDB_PATH": str(tmp_path / "mac.duckdb"),
                        "MAC_BI_PATH": str(tmp_path / "mac_bi.duckdb")}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    DagsterInstance.from_config(str(tmp_path)).dispose()  # created once, not by both processes at the same time
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    workspace["load_from"][0]["grpc_server"] |= {"host": "127.0.0.1", "port": port}
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        listed = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            listed = subprocess.run([str(Path(sys.executable).with_name("dagster")), "job", "list", "-w",
                                     str(tmp_path / "workspace.yaml")], cwd=tmp_path, env=env, capture_output=True,
                                    text=True, timeout=120)
            if listed.returncode == 0:
                break
            time.sleep(1)
        assert listed.returncode == 0, listed.stderr[-2000:]
        assert "mac_full_graph" in listed.stdout and "instance_maintenance_job" in listed.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

