"""Fault-injection fixtures: a Kafka and a store of the fault suite's own (so killing them leaves
every other suite alone), and a fresh platform with a fresh database for each test."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from infra.services import Platform
from infra.stack import LocalStack, start_local_stack
from services.intake.apikeys import issue_key
from services.intake.settings import IntakeSettings
from shared.mongo import Database, Document
from shared.vocabulary import Role
from tests.e2e.conftest import FAST_TIMINGS, recording_server
from tests.e2e.support import Keys
from tests.faults.scenario import FaultCounts, WebhookCounter

# A killed notifier hands its leased deliveries back within seconds; see FAST_TIMINGS.
FAULT_ENV = {
    **FAST_TIMINGS,
    "SWITCHBOARD_DELIVERY_MAX_ATTEMPTS": "8",
    "SWITCHBOARD_WEBHOOK_MAX_CONCURRENT_PER_ENDPOINT": "16",
    "SWITCHBOARD_BROADCAST_CHUNK_SIZE": "50",
    "SWITCHBOARD_LOG_LEVEL": "WARNING",
    # Intake gives up on an unreachable Kafka or store in seconds and answers 503.
    "SWITCHBOARD_KAFKA_REQUEST_TIMEOUT_MS": "2000",
    "SWITCHBOARD_PUBLISH_TIMEOUT_S": "4",
}
RESULTS: list[FaultCounts] = []


@pytest.fixture(scope="package")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = start_local_stack(tmp_path_factory.mktemp("fault-stack"))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def stack(fault_stack: LocalStack) -> LocalStack:
    """The fault stack with both servers up, whatever an earlier test left stopped."""
    fault_stack.start()
    return fault_stack


@pytest.fixture
def database_name() -> str:
    return f"faults_{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def database(stack: LocalStack, database_name: str) -> AsyncIterator[Database]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongo_url, tz_aware=True)
    yield client[database_name]
    await client.close()


@pytest.fixture
async def keys(stack: LocalStack, database_name: str) -> Keys:
    settings = IntakeSettings(mongo_url=stack.mongo_url, mongo_database=database_name)
    return Keys(
        system=await issue_key(settings, "crm", Role.SYSTEM, None),
        agent=await issue_key(settings, "agent-desk", Role.AGENT, None),
    )


@pytest.fixture
def sink() -> Iterator[WebhookCounter]:
    """The receiver of every webhook of the test: counts requests per `webhook-id`."""
    with recording_server("/hooks/faults", WebhookCounter) as counter:
        yield counter


@pytest.fixture
def platform(
    stack: LocalStack, database_name: str, keys: Keys, tmp_path: Path
) -> Iterator[Platform]:
    """The three services for this test alone: a test may kill any of them."""
    running = Platform(
        kafka_bootstrap=stack.kafka_bootstrap,
        mongo_url=stack.mongo_url,
        log_dir=tmp_path / "logs",
        database=database_name,
        extra_env=FAULT_ENV,
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def record_counts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[FaultCounts]]:
    """What each fault run counted: kept for the terminal summary and written as JSON."""
    recorded: list[FaultCounts] = []
    yield recorded
    RESULTS.extend(recorded)
    path = tmp_path_factory.getbasetemp() / "fault-counts.json"
    path.write_text(json.dumps([counts.as_json() for counts in RESULTS], indent=2) + "\n")
    for counts in recorded:
        print(counts.summary())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    terminalreporter.section("fault runs")
    for counts in RESULTS:
        terminalreporter.write_line(counts.summary())
    base = terminalreporter.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    terminalreporter.write_line(f"counts as JSON: {base / 'fault-counts.json'}")
