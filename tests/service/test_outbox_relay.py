"""The outbox relay: events a crash left pending are published after a grace period."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.workflow.domain.rules import parse_rules
from services.workflow.domain.tickets import open_ticket
from services.workflow.outbox import Outbox, OutboxRelay
from services.workflow.settings import DEFAULT_RULES
from shared.kafka import create_broker
from shared.settings import Environment, ServiceSettings
from shared.topics import DEVELOPMENT_EVENTS, TICKET_EVENTS
from tests.service.fakes import NOW, FakeTicketStore, FixedClock, open_ticket_command

GRACE_S = 5.0
RULES = parse_rules(DEFAULT_RULES.read_text())


@dataclass
class Relay:
    broker: KafkaBroker
    store: FakeTicketStore
    clock: FixedClock
    relay: OutboxRelay
    published: list[tuple[bytes | None, dict[str, Any]]] = field(default_factory=list)

    async def saved(self, ticket_id: str, seconds_ago: float) -> list[str]:
        """A ticket saved `seconds_ago` whose events were never published; their ids."""
        saved_at = self.clock() - timedelta(seconds=seconds_ago)
        decision = open_ticket(open_ticket_command(ticket_id), saved_at, RULES)
        document = await self.store.save(decision, loaded_version=None)
        return [e["event_id"] for e in document["events"]]

    def published_ids(self) -> list[str]:
        return [body["event_id"] for _, body in self.published]


def build_relay() -> Relay:
    settings = ServiceSettings(environment=Environment.TEST, kafka_bootstrap="127.0.0.1:1")
    broker = create_broker(settings, client_id="switchboard-workflow")
    store = FakeTicketStore()
    clock = FixedClock(NOW)
    outbox = Outbox(
        store, broker.publisher(TICKET_EVENTS.name), broker.publisher(DEVELOPMENT_EVENTS.name)
    )
    relay = Relay(
        broker, store, clock, OutboxRelay(outbox, store, clock, interval_s=1, grace_s=GRACE_S)
    )

    @broker.subscriber(TICKET_EVENTS.name, group_id="operator")
    async def watch(body: dict[str, Any], message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        relay.published.append((record.key, body))

    return relay


async def test_events_left_pending_past_the_grace_period_are_published_and_marked_sent() -> None:
    relay = build_relay()
    event_ids = await relay.saved("TCK-0000000000000001", seconds_ago=GRACE_S + 1)

    async with TestKafkaBroker(relay.broker):
        count = await relay.relay.relay_once()

    assert count == 2
    assert relay.published_ids() == event_ids
    assert {key for key, _ in relay.published} == {b"TCK-0000000000000001"}
    assert relay.store.documents["TCK-0000000000000001"]["outbox_pending"] == []


async def test_events_still_within_the_grace_period_are_left_to_the_normal_path() -> None:
    relay = build_relay()
    await relay.saved("TCK-0000000000000002", seconds_ago=GRACE_S - 1)

    async with TestKafkaBroker(relay.broker):
        count = await relay.relay.relay_once()

    assert count == 0
    assert relay.published == []
    assert len(relay.store.documents["TCK-0000000000000002"]["outbox_pending"]) == 2


async def test_only_the_stale_tickets_are_relayed() -> None:
    relay = build_relay()
    stale = await relay.saved("TCK-0000000000000001", seconds_ago=60)
    await relay.saved("TCK-0000000000000002", seconds_ago=1)

    async with TestKafkaBroker(relay.broker):
        await relay.relay.relay_once()

    assert relay.published_ids() == stale


async def test_only_the_events_not_yet_acknowledged_are_published_again() -> None:
    relay = build_relay()
    _opened, triaged = await relay.saved("TCK-0000000000000001", seconds_ago=60)
    relay.store.documents["TCK-0000000000000001"]["outbox_pending"] = [triaged]

    async with TestKafkaBroker(relay.broker):
        count = await relay.relay.relay_once()

    assert count == 1
    assert relay.published_ids() == [triaged]


async def test_a_second_pass_publishes_nothing_twice() -> None:
    relay = build_relay()
    await relay.saved("TCK-0000000000000001", seconds_ago=60)

    async with TestKafkaBroker(relay.broker):
        await relay.relay.relay_once()
        second = await relay.relay.relay_once()

    assert second == 0
    assert len(relay.published) == 2


async def test_a_pending_event_is_relayed_once_the_clock_passes_the_grace_period() -> None:
    relay = build_relay()
    event_ids = await relay.saved("TCK-0000000000000001", seconds_ago=0)

    async with TestKafkaBroker(relay.broker):
        before = await relay.relay.relay_once()
        relay.clock.advance(GRACE_S + 1)
        after = await relay.relay.relay_once()

    assert (before, after) == (0, 2)
    assert relay.published_ids() == event_ids
