"""The operators' topic tools on a real Kafka and store: `tail` and `dead-letters`."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from shared.kafka import ensure_topics
from shared.topics import ALL_TOPICS, DEAD_LETTER, INCIDENT_EVENTS, TICKET_COMMANDS, TICKET_EVENTS
from shared.topics import DeadLetterHeader as Header
from tests.e2e.support import Endpoints, records_with_key
from tools.cli import main
from tools.dead_letters import REPLAYS_COLLECTION, ReplayHeader, as_dead_letter, replay
from tools.reading import record_at
from tools.records import TopicRecord

pytestmark = pytest.mark.e2e

DATABASE = f"tools_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def producer(endpoints: Endpoints) -> AsyncIterator[AIOKafkaProducer]:
    await ensure_topics(endpoints.kafka_bootstrap, ALL_TOPICS)
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16].upper()}"


def event(kind: str, **fields: str) -> bytes:
    return json.dumps({"type": kind, "event_id": str(uuid.uuid4()), **fields}).encode()


async def run(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_tail_shows_the_events_of_one_ticket_and_no_other(
    endpoints: Endpoints, producer: AIOKafkaProducer, capsys: pytest.CaptureFixture[str]
) -> None:
    mine, other = new_id("TCK"), new_id("TCK")
    for ticket in (other, mine):
        opened = event("TicketOpened", ticket_id=ticket, summary=f"one-way audio on {ticket}")
        await producer.send_and_wait(TICKET_EVENTS.name, opened, key=ticket.encode())

    args = ("--ticket", mine, "--from-beginning", "--limit", "1")
    status = await run("tail", "ticket-events", *args, "--bootstrap", endpoints.kafka_bootstrap)

    shown = capsys.readouterr().out
    assert status == 0
    assert "ticket-events.v1[" in shown
    assert f" {mine} TicketOpened summary=one-way audio on {mine}" in shown
    assert other not in shown


async def test_tail_follows_what_comes_next_as_json(
    endpoints: Endpoints, producer: AIOKafkaProducer, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = new_id("INC")
    # one topic: the running notifier dead-letters these bare events under the same key
    args = ("incident-events", "--incident", incident, "--json", "--limit", "1")
    tailing = asyncio.create_task(run("tail", *args, "--bootstrap", endpoints.kafka_bootstrap))
    while not tailing.done():  # published until the tail, started at the end, has seen one
        declared = event("IncidentDeclared", incident_id=incident, title="Madrid trunk down")
        await producer.send_and_wait(INCIDENT_EVENTS.name, declared, key=incident.encode())
        await asyncio.wait({tailing}, timeout=0.5)

    assert await tailing == 0
    (line,) = capsys.readouterr().out.splitlines()
    shown = json.loads(line)
    assert (shown["topic"], shown["key"]) == (INCIDENT_EVENTS.name, incident)
    assert shown["value"]["title"] == "Madrid trunk down"


async def dead_letter(producer: AIOKafkaProducer, key: str) -> TopicRecord:
    """A command the workflow gave up on, dead-lettered as DeadLetterPolicy does it."""
    headers = {
        Header.ERROR: "invalid message: details.category: Input should be 'call_quality', …",
        Header.SOURCE_TOPIC: TICKET_COMMANDS.name,
        Header.SOURCE_PARTITION: "2",
        Header.SOURCE_OFFSET: "41",
        Header.CONSUMER_GROUP: "switchboard-workflow",
        Header.ATTEMPTS: "1",
    }
    sent = await producer.send_and_wait(
        DEAD_LETTER.name,
        event("OpenTicket", ticket_id=key, category="voicemail"),
        key=key.encode(),
        headers=[(name, value.encode()) for name, value in headers.items()],
    )
    return TopicRecord(DEAD_LETTER.name, sent.partition, sent.offset, 0, key, b"")


async def test_a_dead_letter_is_replayed_to_its_source_topic_once(
    endpoints: Endpoints, producer: AIOKafkaProducer, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = new_id("TCK")
    letter = await dead_letter(producer, ticket)
    store = ("--mongo-url", endpoints.mongo_url, "--database", DATABASE)
    where = ("--bootstrap", endpoints.kafka_bootstrap, *store)
    offset = str(letter.offset)

    first = await run("dead-letters", "replay", offset, "--by", "ana@noc", *where)
    second = await run("dead-letters", "replay", offset, "--by", "tom@noc", *where)

    output = capsys.readouterr()
    assert (first, second) == (0, 1)
    assert f"replayed dead letter 0:{offset} to {TICKET_COMMANDS.name}" in output.out
    assert f"dead letter 0:{offset} was already replayed by ana@noc" in output.err
    (replayed,) = await records_with_key(endpoints.kafka_bootstrap, TICKET_COMMANDS, ticket)
    original = await record_at(endpoints.kafka_bootstrap, DEAD_LETTER.name, 0, letter.offset)
    assert replayed.value == original.value
    headers = {name: value.decode() for name, value in replayed.headers}
    assert headers[ReplayHeader.BY] == "ana@noc"
    assert headers[ReplayHeader.FROM] == f"{DEAD_LETTER.name}:0:{offset}"
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(endpoints.mongo_url)
    try:
        record = await client[DATABASE][REPLAYS_COLLECTION].find_one({"_id": f"0:{offset}"})
    finally:
        await client.close()
    assert record is not None
    assert (record["state"], record["replayed_by"]) == ("replayed", "ana@noc")
    assert (record["partition"], record["offset"]) == (replayed.partition, replayed.offset)


async def test_the_list_and_show_say_what_failed_and_who_replayed_it(
    endpoints: Endpoints, producer: AIOKafkaProducer, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = new_id("TCK")
    letter = await dead_letter(producer, ticket)
    store = ("--mongo-url", endpoints.mongo_url, "--database", DATABASE)
    where = ("--bootstrap", endpoints.kafka_bootstrap, *store)
    await run("dead-letters", "replay", str(letter.offset), "--by", "ana@noc", *where)
    capsys.readouterr()

    assert await run("dead-letters", "list", "--last", "5", "--json", *where) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert await run("dead-letters", "show", str(letter.offset), "--json", *where) == 0
    shown = json.loads(capsys.readouterr().out)

    # With the workflow running, the replayed command fails again: a new dead letter, same key.
    (mine,) = [entry for entry in listed if entry["offset"] == letter.offset]
    assert mine["key"] == ticket
    assert mine == shown
    assert mine["headers"][Header.SOURCE_TOPIC] == TICKET_COMMANDS.name
    assert mine["headers"][Header.ERROR].startswith("invalid message: details.category")
    assert mine["value"]["category"] == "voicemail"
    assert (mine["replay"]["state"], mine["replay"]["replayed_by"]) == ("replayed", "ana@noc")


async def test_of_two_operators_replaying_at_once_one_wins(
    endpoints: Endpoints, producer: AIOKafkaProducer
) -> None:
    ticket = new_id("TCK")
    sent = await dead_letter(producer, ticket)
    letter = await record_at(endpoints.kafka_bootstrap, DEAD_LETTER.name, 0, sent.offset)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(endpoints.mongo_url)
    replays = client[DATABASE][REPLAYS_COLLECTION]
    try:
        outcomes = await asyncio.gather(
            *(
                replay(as_dead_letter(letter), producer, replays, who, datetime.now(UTC))
                for who in ("ana@noc", "tom@noc")
            ),
            return_exceptions=True,
        )
    finally:
        await client.close()

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ReplayRefused", "dict"]
    assert len(await records_with_key(endpoints.kafka_bootstrap, TICKET_COMMANDS, ticket)) == 1
