"""Where the e2e and store suites find Kafka and MongoDB: endpoints given in the environment,
containers (testcontainers, opted in with SWITCHBOARD_TEST_CONTAINERS=1 where a Docker engine
answers), or else the embedded servers the suites start themselves (the default).

Opted in without an engine, the suites are skipped with the reason: the one skip allowed, as
the infrastructure asked for is absent. Not opted in, Docker is never even asked.
"""

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from infra.processes import free_port

CONTAINERS_ENV = "SWITCHBOARD_TEST_CONTAINERS"
KAFKA_IMAGE = "apache/kafka:4.1.1"  # the one docker-compose.yml runs
MONGO_IMAGE = "mongo:7"
REPLICA_SET = "rs0"
STARTUP_TIMEOUT_S = 120
_YES = frozenset({"1", "true", "yes", "on"})


class Source(StrEnum):
    GIVEN = "given"  # endpoints someone else runs, named in the environment
    CONTAINERS = "containers"
    EMBEDDED = "embedded"
    ABSENT = "absent"  # containers asked for, but no Docker engine answers


@dataclass(frozen=True)
class Infrastructure:
    source: Source
    reason: str


def containers_wanted(environ: Mapping[str, str]) -> bool:
    return environ.get(CONTAINERS_ENV, "").strip().lower() in _YES


def choose_infrastructure(
    environ: Mapping[str, str],
    given: tuple[str, ...],
    engine_answers: Callable[[], str | None],
) -> Infrastructure:
    """`given`: the variables that together name running servers. `engine_answers` is asked
    only when containers are wanted; it returns None when an engine answers, else why not."""
    if all(environ.get(name) for name in given):
        return Infrastructure(Source.GIVEN, f"servers named by {', '.join(given)}")
    if not containers_wanted(environ):
        return Infrastructure(Source.EMBEDDED, "embedded servers (the default)")
    problem = engine_answers()
    if problem is None:
        return Infrastructure(Source.CONTAINERS, "containers (testcontainers)")
    return Infrastructure(
        Source.ABSENT, f"{CONTAINERS_ENV} is set but no Docker engine answers: {problem}"
    )


def docker_engine_problem() -> str | None:
    """None when a Docker engine answers a ping, else what went wrong."""
    import docker  # noqa: PLC0415  (only asked for when containers are wanted)
    from docker.errors import DockerException  # noqa: PLC0415

    try:
        client = docker.from_env(timeout=5)
    except DockerException as error:
        return str(error)
    try:
        client.ping()
    except (DockerException, OSError) as error:
        return str(error)
    finally:
        client.close()
    return None


@contextmanager
def mongo_replica_set() -> Iterator[str]:
    """MongoDB as a one-node replica set in a container; yields its URL."""
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy  # noqa: PLC0415

    container = (
        DockerContainer(MONGO_IMAGE)
        .with_command(["mongod", "--replSet", REPLICA_SET, "--bind_ip_all"])
        .with_exposed_ports(27017)
        .waiting_for(
            LogMessageWaitStrategy("Waiting for connections").with_startup_timeout(
                STARTUP_TIMEOUT_S
            )
        )
    )
    with container:
        address = f"{container.get_container_host_ip()}:{container.get_exposed_port(27017)}"
        url = f"mongodb://{address}/?directConnection=true"
        initiate_replica_set(url)
        yield url


def initiate_replica_set(url: str, within_s: float = 60.0) -> None:
    """One member, known to itself as localhost; returns once it is the primary."""
    from pymongo import MongoClient  # noqa: PLC0415

    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=30_000)
    try:
        members = [{"_id": 0, "host": "localhost:27017"}]
        client.admin.command("replSetInitiate", {"_id": REPLICA_SET, "members": members})
        deadline = time.monotonic() + within_s
        while not client.admin.command("hello").get("isWritablePrimary"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica set has no primary after {within_s:.0f}s")
            time.sleep(0.2)
    finally:
        client.close()


@contextmanager
def kafka_broker() -> Iterator[str]:
    """Apache Kafka (KRaft, one combined broker and controller) in a container; yields its
    bootstrap address. Its port is bound to a free host port chosen first, so the address it
    advertises is the one clients reach."""
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy  # noqa: PLC0415

    port = free_port()
    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(9092, port)
        .with_envs(**kafka_environment(port))
        .waiting_for(
            LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(STARTUP_TIMEOUT_S)
        )
    )
    with container:
        yield f"127.0.0.1:{port}"


def kafka_environment(host_port: int) -> dict[str, str]:
    return {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{host_port}",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_MIN_INSYNC_REPLICAS": "1",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }
