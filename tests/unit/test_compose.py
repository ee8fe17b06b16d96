"""docker-compose.yml and the Dockerfile agree with the code they run."""

import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from pydantic import ValidationError

from services.intake.settings import IntakeSettings
from services.notifier.settings import NotifierSettings
from services.workflow.settings import WorkflowSettings
from shared.settings import Environment, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "SWITCHBOARD_"
KAFKA_BOOTSTRAP = "kafka:9092"
MONGO_URL = "mongodb://mongo:27017/?replicaSet=rs0"


class Service(NamedTuple):
    settings: type[ServiceSettings]
    port_field: str


SERVICES = {
    "intake": Service(IntakeSettings, "intake_port"),
    "workflow": Service(WorkflowSettings, "workflow_port"),
    "notifier": Service(NotifierSettings, "notifier_port"),
}
INFRASTRUCTURE = ("kafka", "mongo")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def service_config(compose: dict[str, Any], name: str) -> dict[str, Any]:
    services: dict[str, dict[str, Any]] = compose["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def environment_of(compose: dict[str, Any], name: str) -> dict[str, str]:
    environment = service_config(compose, name).get("environment", {})
    assert isinstance(environment, dict), f"{name}: write `environment:` as a mapping"
    return {key: str(value) for key, value in environment.items()}


def settings_from(
    environment: dict[str, str], service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> ServiceSettings:
    """Build the settings exactly as the container would: from that environment and nothing else."""
    for key in [k for k in os.environ if k.startswith(PREFIX)]:
        monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no stray .env file
    try:
        return SERVICES[service].settings()
    except ValidationError as error:
        pytest.fail(f"{service}: its compose environment is not valid settings:\n{error}")


def module_main(command: list[str]) -> Path:
    assert command[:2] == ["python", "-m"], f"expected `python -m <module>`, got {command}"
    module = Path(*command[2].split("."))
    for candidate in (ROOT / module / "__main__.py", ROOT / module.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    raise AssertionError(f"{command}: module {command[2]} does not exist under {ROOT}")


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_field_of_the_service_settings(
    compose: dict[str, Any], service: str
) -> None:
    settings_class = SERVICES[service].settings
    for variable in environment_of(compose, service):
        assert variable.startswith(PREFIX), f"{service}: {variable} is not a {PREFIX}* variable"
        field = variable.removeprefix(PREFIX).lower()
        assert field in settings_class.model_fields, (
            f"{service}: {variable} is not a setting; {settings_class.__name__} has no field "
            f"{field!r} (it has {', '.join(sorted(settings_class.model_fields))})"
        )


@pytest.mark.parametrize("service", SERVICES)
def test_the_compose_environment_builds_production_settings(
    compose: dict[str, Any], service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = settings_from(environment_of(compose, service), service, monkeypatch, tmp_path)

    assert settings.kafka_bootstrap == KAFKA_BOOTSTRAP, (
        f"{service}: wrong SWITCHBOARD_KAFKA_BOOTSTRAP"
    )
    assert settings.mongo_url == MONGO_URL, f"{service}: wrong SWITCHBOARD_MONGO_URL"
    assert settings.http_host == "0.0.0.0", f"{service}: must listen beyond the container"
    assert settings.environment is Environment.PRODUCTION, f"{service}: not in production mode"


def test_services_reach_kafka_where_kafka_says_it_is(compose: dict[str, Any]) -> None:
    advertised = environment_of(compose, "kafka")["KAFKA_ADVERTISED_LISTENERS"]
    assert f"PLAINTEXT://{KAFKA_BOOTSTRAP}" in advertised.split(",")


@pytest.mark.parametrize("service", SERVICES)
def test_the_healthcheck_probes_readiness_on_the_configured_port(
    compose: dict[str, Any], service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = settings_from(environment_of(compose, service), service, monkeypatch, tmp_path)
    port = getattr(settings, SERVICES[service].port_field)
    probe = " ".join(service_config(compose, service)["healthcheck"]["test"])

    urls = re.findall(r"http://127\.0\.0\.1:(\d+)/readyz", probe)
    assert urls == [str(port)], f"{service}: healthcheck {probe!r} should probe port {port}"


def test_intake_is_published_on_its_port(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = settings_from(environment_of(compose, "intake"), "intake", monkeypatch, tmp_path)
    assert isinstance(settings, IntakeSettings)
    port = settings.intake_port
    assert f"{port}:{port}" in service_config(compose, "intake").get("ports", [])


@pytest.mark.parametrize("service", SERVICES)
def test_services_start_once_kafka_and_mongo_are_healthy(
    compose: dict[str, Any], service: str
) -> None:
    depends_on = service_config(compose, service).get("depends_on", {})
    for dependency in INFRASTRUCTURE:
        condition = depends_on.get(dependency, {}).get("condition")
        assert condition == "service_healthy", (
            f"{service}: depends_on {dependency} must have condition service_healthy"
        )


def test_every_awaited_dependency_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, config in compose["services"].items():
        for dependency, wait in config.get("depends_on", {}).items():
            if wait.get("condition") == "service_healthy":
                assert "healthcheck" in service_config(compose, dependency), (
                    f"{name} waits for {dependency} to be healthy, but it has no healthcheck"
                )


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_its_own_module(compose: dict[str, Any], service: str) -> None:
    command = service_config(compose, service)["command"]
    assert command == ["python", "-m", f"services.{service}"], f"{service}: command {command}"
    module_main(command)


def test_the_dockerfile_default_command_exists() -> None:
    instructions = (ROOT / "Dockerfile").read_text().splitlines()
    commands = [line.removeprefix("CMD").strip() for line in instructions if line.startswith("CMD")]
    assert len(commands) == 1, "the Dockerfile needs exactly one CMD in exec (JSON) form"
    module_main(json.loads(commands[0]))


def test_the_dockerfile_copies_what_exists_and_runs_unprivileged() -> None:
    instructions = (ROOT / "Dockerfile").read_text().splitlines()
    for line in instructions:
        if line.startswith("COPY") and "--from" not in line:
            *sources, _target = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    users = [line.split()[1] for line in instructions if line.startswith("USER")]
    assert users, "the image must not run as root: add a USER"
    assert users[-1] not in {"root", "0"}, "the image must not run as root"
