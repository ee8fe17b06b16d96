"""With Kafka down, intake refuses writes with 503 and Retry-After, and nothing is stored."""

import uuid
from collections.abc import Iterator

import httpx
import pytest

from infra.kafka import KafkaServer
from infra.processes import free_ports
from infra.services import Platform
from shared.mongo import Collections, Database
from shared.topics import TICKET_COMMANDS
from shared.vocabulary import ticket_id_for_request
from tests.e2e.support import Endpoints, Keys, records_with_key, until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def doomed_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaServer]:
    """A Kafka of this test's own, so stopping it leaves the other tests' broker alone."""
    root = tmp_path_factory.mktemp("doomed-kafka")
    port, controller_port = free_ports(2)
    kafka = KafkaServer(port, controller_port, data_dir=root / "data", log_dir=root / "logs")
    kafka.start()
    try:
        kafka.wait_ready(90)
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture(scope="module")
def lone_intake(
    doomed_kafka: KafkaServer,
    endpoints: Endpoints,
    database_name: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    platform = Platform(
        kafka_bootstrap=doomed_kafka.bootstrap_servers,
        mongo_url=endpoints.mongo_url,
        log_dir=tmp_path_factory.mktemp("lone-intake-logs"),
        database=database_name,
        extra_env={
            "SWITCHBOARD_KAFKA_REQUEST_TIMEOUT_MS": "2000",
            "SWITCHBOARD_PUBLISH_TIMEOUT_S": "4",
        },
    )
    platform.start(["intake"])
    try:
        yield platform
    finally:
        platform.stop()


BODY = {
    "customer_id": "cust-outage",
    "category": "number_porting",
    "summary": "Port request stuck",
    "reporting_system": "crm",
}


async def post_ticket(client: httpx.AsyncClient, keys: Keys, key: str) -> httpx.Response:
    headers = {"X-API-Key": keys.system, "Idempotency-Key": key}
    return await client.post("/v1/tickets", json=BODY, headers=headers)


async def test_kafka_down_gives_503_with_retry_after_and_nothing_is_half_done(
    lone_intake: Platform, doomed_kafka: KafkaServer, keys: Keys, database: Database
) -> None:
    accepted_key, refused_key = str(uuid.uuid4()), str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=lone_intake.intake_url, timeout=30.0) as client:
        accepted = await post_ticket(client, keys, accepted_key)
        doomed_kafka.stop()

        async def kafka_reported_down() -> httpx.Response | None:
            ready = await client.get("/readyz")
            return ready if ready.status_code == 503 else None

        ready = await until(kafka_reported_down, "intake notices Kafka is down")
        refused = await post_ticket(client, keys, refused_key)

    assert accepted.status_code == 202
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert ready.json() == {"kafka": False, "database": True}
    refused_id = ticket_id_for_request("crm", refused_key)
    assert await database[Collections.TICKETS].count_documents({"_id": refused_id}) == 0
    # Back up, Kafka holds the accepted command and never receives the refused one.
    doomed_kafka.start()
    doomed_kafka.wait_ready(90)
    bootstrap = doomed_kafka.bootstrap_servers
    accepted_id = accepted.json()["ticket_id"]
    assert len(await records_with_key(bootstrap, TICKET_COMMANDS, accepted_id)) == 1
    assert await records_with_key(bootstrap, TICKET_COMMANDS, refused_id) == []
