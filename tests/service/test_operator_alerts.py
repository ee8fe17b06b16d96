"""Operator alerts in the notifier: the chat webhook's retries, the relay's coalescing and
commits, and the records the alert consumer hands it."""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError
from faststream.kafka import KafkaBroker, TestKafkaBroker
from pydantic import SecretStr

from services.notifier.alerts.chat import AlertRefused, ChatWebhook
from services.notifier.alerts.relay import AlertRelay, OffsetCommitter, Offsets
from services.notifier.app import build_alerts
from services.notifier.domain.alerts import Alert, AlertKind, dead_letter_alert
from services.notifier.settings import NotifierSettings
from services.notifier.subscribers import build_alert_router
from shared.events import WORKFLOW, SlaBreached
from shared.logs import configure_logging
from shared.topics import DEAD_LETTER, INCIDENT_EVENTS, TICKET_EVENTS, DeadLetterHeader
from shared.vocabulary import Priority, SlaClock
from tests.unit.examples import NOW, TICKET_ID
from tests.unit.test_alerts import declared

URL = "https://hooks.chat.example/services/T000/B000/not-a-real-token"
COMMANDS = "switchboard.ticket-commands.v1"


@dataclass
class ChatService:
    """Answers each POST with the next scripted response (then 200) and keeps every text."""

    answers: list[httpx.Response | Exception] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == URL
        self.texts.append(json.loads(request.content)["text"])
        answer = self.answers.pop(0) if self.answers else httpx.Response(200, text="ok")
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class Waits:
    seconds: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def chat_webhook(service: ChatService, waits: Waits, backoff_max_s: float = 60.0) -> ChatWebhook:
    http = httpx.AsyncClient(transport=httpx.MockTransport(service.handle))
    return ChatWebhook(SecretStr(URL), http, backoff_max_s, sleep=waits)


async def test_an_alert_is_one_json_text_post() -> None:
    service, waits = ChatService(), Waits()

    await chat_webhook(service, waits).post("Incident INC-1 declared")

    assert service.texts == ["Incident INC-1 declared"]
    assert waits.seconds == []


async def test_failures_are_retried_with_growing_waits_until_the_chat_takes_it() -> None:
    service = ChatService(
        answers=[
            httpx.Response(503),
            httpx.ConnectError("refused"),
            httpx.Response(500),
            httpx.Response(502),
        ]
    )
    waits = Waits()

    await chat_webhook(service, waits, backoff_max_s=5.0).post("hello")

    assert service.texts == ["hello"] * 5
    assert waits.seconds == [1.0, 2.0, 4.0, 5.0]


async def test_a_rate_limit_is_waited_out_as_the_chat_asks() -> None:
    service = ChatService(answers=[httpx.Response(429, headers={"Retry-After": "30"})])
    waits = Waits()

    await chat_webhook(service, waits).post("hello")

    assert waits.seconds == [30.0]
    assert len(service.texts) == 2


async def test_a_refusal_no_retry_can_change_is_raised_at_once() -> None:
    service, waits = ChatService(answers=[httpx.Response(404)]), Waits()

    with pytest.raises(AlertRefused) as refused:
        await chat_webhook(service, waits).post("hello")

    assert refused.value.status == 404
    assert waits.seconds == []


async def test_retries_are_logged_without_the_webhook_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = ChatService(answers=[httpx.ConnectError(f"cannot reach {URL}"), httpx.Response(503)])

    with caplog.at_level("DEBUG", logger="switchboard.notifier.alerts"):
        await chat_webhook(service, Waits()).post("hello")

    ours = [r for r in caplog.records if r.name == "switchboard.notifier.alerts"]
    assert [getattr(r, "problem", None) for r in ours] == ["ConnectError", "HTTP 503"]
    assert not any("not-a-real-token" in str(record.__dict__) for record in ours)


def test_the_services_logging_leaves_out_httpx_request_lines_which_carry_urls() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("switchboard.notifier", "DEBUG")
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Chat:
    posted: list[str] = field(default_factory=list)
    refuse: bool = False

    async def post(self, text: str) -> None:
        if self.refuse:
            raise AlertRefused(400)
        self.posted.append(text)


@dataclass
class Consumer:
    """The consumer's part in commits: what it owns and what was committed."""

    owned: set[TopicPartition] = field(
        default_factory=lambda: {TopicPartition(COMMANDS, 0), TopicPartition("events", 0)}
    )
    commits: list[Offsets] = field(default_factory=list)
    failing: bool = False

    def assignment(self) -> set[TopicPartition]:
        return self.owned

    async def commit(self, offsets: Offsets) -> None:
        if self.failing:
            raise KafkaConnectionError()
        self.commits.append(offsets)


def dead(offset: int) -> Alert:
    headers = {DeadLetterHeader.SOURCE_TOPIC: COMMANDS, DeadLetterHeader.SOURCE_OFFSET: str(offset)}
    return dead_letter_alert(headers, f"TCK-{offset}")


def records(offsets: Iterable[int], topic: str = COMMANDS) -> list[tuple[str, int, int]]:
    return [(topic, 0, offset) for offset in offsets]


def relay_with() -> tuple[AlertRelay, Chat, Consumer, Clock]:
    chat, consumer, clock = Chat(), Consumer(), Clock()
    return AlertRelay(chat, interval_s=10.0, clock=clock), chat, consumer, clock


async def test_the_first_alert_after_a_quiet_spell_goes_out_at_once() -> None:
    relay, chat, consumer, _ = relay_with()

    relay.take([dead(7)], records([7]), consumer)
    await relay.flush_due()

    assert len(chat.posted) == 1
    assert "offset 7" in chat.posted[0]


async def test_alerts_within_the_interval_wait_and_go_out_as_one_summary() -> None:
    relay, chat, consumer, clock = relay_with()
    relay.take([dead(0)], records([0]), consumer)
    await relay.flush_due()

    for offset in range(1, 2001):
        relay.take([dead(offset)], records([offset]), consumer)
        await relay.flush_due()
    clock.now += 9.9
    await relay.flush_due()
    assert len(chat.posted) == 1

    clock.now += 0.1
    await relay.flush_due()

    assert len(chat.posted) == 2
    assert chat.posted[1].startswith("Switchboard: 2000 alerts since the last message")


async def test_offsets_are_committed_only_once_their_alerts_were_posted() -> None:
    relay, chat, consumer, clock = relay_with()
    relay.take([dead(0)], records([0]), consumer)
    await relay.flush_due()
    assert consumer.commits == [{TopicPartition(COMMANDS, 0): 1}]

    relay.take([dead(1)], records([1]), consumer)
    relay.take([], records([5, 6], topic="events"), consumer)
    await relay.flush_due()
    assert len(consumer.commits) == 1  # offset 1's alert waits for its turn, and so do 5 and 6

    clock.now += 10
    await relay.flush_due()

    assert len(chat.posted) == 2
    assert consumer.commits[-1] == {
        TopicPartition(COMMANDS, 0): 2,
        TopicPartition("events", 0): 7,
    }


async def test_records_that_raise_no_alert_are_committed_without_a_post() -> None:
    relay, chat, consumer, _ = relay_with()

    relay.take([], records(range(500), topic="events"), consumer)
    await relay.flush_due()
    await relay.flush_due()  # nothing new: no second commit

    assert chat.posted == []
    assert consumer.commits == [{TopicPartition("events", 0): 500}]


async def test_a_refused_message_is_dropped_and_its_offsets_committed() -> None:
    relay, chat, consumer, _ = relay_with()
    chat.refuse = True

    relay.take([dead(3)], records([3]), consumer)
    await relay.flush_due()

    assert consumer.commits == [{TopicPartition(COMMANDS, 0): 4}]


async def test_a_failed_commit_is_tried_again_on_the_next_tick() -> None:
    relay, chat, consumer, _ = relay_with()
    consumer.failing = True
    relay.take([dead(3)], records([3]), consumer)
    await relay.flush_due()
    assert consumer.commits == []

    consumer.failing = False
    await relay.flush_due()

    assert len(chat.posted) == 1  # posted once, not again
    assert consumer.commits == [{TopicPartition(COMMANDS, 0): 4}]


async def test_partitions_handed_to_another_instance_are_not_committed() -> None:
    relay, _, consumer, _ = relay_with()
    relay.take([], records([1]) + records([2], topic="gone"), consumer)

    await relay.flush_due()

    assert consumer.commits == [{TopicPartition(COMMANDS, 0): 2}]


@dataclass
class Taken:
    alerts: list[Alert] = field(default_factory=list)
    records: list[tuple[str, int, int]] = field(default_factory=list)

    def take(
        self,
        alerts: Iterable[Alert],
        records: Iterable[tuple[str, int, int]],
        consumer: OffsetCommitter,
    ) -> None:
        self.alerts += alerts
        self.records += records


def breach(priority: Priority) -> SlaBreached:
    return SlaBreached(
        event_id=f"e-{priority.value}",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="acme",
        actor=WORKFLOW,
        clock=SlaClock.RESOLUTION,
        due_at=NOW,
        priority=priority,
    )


async def test_the_alert_consumer_hands_over_every_record_and_the_alerts_they_raise() -> None:
    taken = Taken()
    broker = KafkaBroker()
    broker.include_router(build_alert_router(taken, "switchboard-notifier", batch=10))

    async with TestKafkaBroker(broker) as test:
        await test.publish(declared(), INCIDENT_EVENTS.name, key=b"INC-1")
        await test.publish(breach(Priority.P2), TICKET_EVENTS.name, key=TICKET_ID.encode())
        await test.publish(breach(Priority.P1), TICKET_EVENTS.name, key=TICKET_ID.encode())
        await test.publish(
            b"not json",
            DEAD_LETTER.name,
            key=b"TCK-BAD",
            headers={DeadLetterHeader.SOURCE_TOPIC: COMMANDS, DeadLetterHeader.ERROR: "boom"},
        )

    assert [a.kind for a in taken.alerts] == [
        AlertKind.INCIDENT_DECLARED,
        AlertKind.SLA_BREACHED,
        AlertKind.DEAD_LETTERED,
    ]
    assert "p1 ticket" in taken.alerts[1].line
    assert "key TCK-BAD" in taken.alerts[2].line
    assert [topic for topic, _, _ in taken.records] == [
        INCIDENT_EVENTS.name,
        TICKET_EVENTS.name,
        TICKET_EVENTS.name,
        DEAD_LETTER.name,
    ]


def test_alerts_are_off_without_a_webhook_url() -> None:
    assert build_alerts(NotifierSettings()) is None
    assert build_alerts(NotifierSettings(alert_webhook_url=SecretStr(URL))) is not None
