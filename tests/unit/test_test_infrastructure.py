"""Where the e2e and store suites find Kafka and MongoDB: the embedded servers by default,
containers only when opted in and a Docker engine answers, servers named in the environment
before either."""

import pytest

from tests.containers import (
    CONTAINERS_ENV,
    Source,
    choose_infrastructure,
    containers_wanted,
    kafka_environment,
)

GIVEN = ("SWITCHBOARD_TEST_KAFKA_BOOTSTRAP", "SWITCHBOARD_TEST_MONGO_URL")


class Engine:
    """A Docker engine that answers, or not; counts how often it was asked."""

    def __init__(self, problem: str | None) -> None:
        self.problem = problem
        self.asked = 0

    def __call__(self) -> str | None:
        self.asked += 1
        return self.problem


def test_by_default_the_embedded_servers_run_and_docker_is_never_asked() -> None:
    engine = Engine(None)

    chosen = choose_infrastructure({}, GIVEN, engine)

    assert chosen.source is Source.EMBEDDED
    assert engine.asked == 0


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off"])
def test_anything_but_a_yes_keeps_the_default(value: str) -> None:
    engine = Engine(None)

    assert choose_infrastructure({CONTAINERS_ENV: value}, GIVEN, engine).source is Source.EMBEDDED
    assert engine.asked == 0


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_opted_in_with_an_engine_that_answers_runs_containers(value: str) -> None:
    assert containers_wanted({CONTAINERS_ENV: value})
    chosen = choose_infrastructure({CONTAINERS_ENV: value}, GIVEN, Engine(None))

    assert chosen.source is Source.CONTAINERS


def test_opted_in_without_an_engine_is_absent_with_the_reason() -> None:
    problem = "Error while fetching server API version: connection refused"

    chosen = choose_infrastructure({CONTAINERS_ENV: "1"}, GIVEN, Engine(problem))

    assert chosen.source is Source.ABSENT
    assert chosen.reason == f"{CONTAINERS_ENV} is set but no Docker engine answers: {problem}"


def test_servers_named_in_the_environment_win_over_containers() -> None:
    environ = {CONTAINERS_ENV: "1", GIVEN[0]: "kafka:9092", GIVEN[1]: "mongodb://m/"}
    engine = Engine(None)

    assert choose_infrastructure(environ, GIVEN, engine).source is Source.GIVEN
    assert engine.asked == 0


def test_only_some_servers_named_is_not_enough_to_use_them() -> None:
    environ = {GIVEN[1]: "mongodb://m/"}

    assert choose_infrastructure(environ, GIVEN, Engine(None)).source is Source.EMBEDDED
    assert choose_infrastructure(environ, GIVEN[1:], Engine(None)).source is Source.GIVEN


def test_the_kafka_container_advertises_the_host_port_clients_reach() -> None:
    environment = kafka_environment(41234)

    assert environment["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://127.0.0.1:41234"
    assert environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    replication = [v for k, v in environment.items() if "REPLICATION_FACTOR" in k or "ISR" in k]
    assert set(replication) == {"1"}
