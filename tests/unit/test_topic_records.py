"""What the topic tools show: records filtered by ticket or incident, named and summarised."""

import json
from pathlib import Path

import pytest
from rich.console import Console

from infra.processes import PidRecord, write_pid_file
from shared.topics import (
    ALL_TOPICS,
    DEAD_LETTER,
    INCIDENT_BROADCASTS,
    INCIDENT_EVENTS,
    TICKET_EVENTS,
)
from shared.topics import DeadLetterHeader as Header
from tools.cli import local_kafka_bootstrap, local_mongo_url
from tools.dead_letters import ReplayHeader
from tools.records import RecordFilter, TopicRecord, UnknownTopic, resolve_topics, summary
from tools.tail import describe, json_lines

TICKET = "TCK-0123456789ABCDEF"
INCIDENT = "INC-0123456789ABCDEF"
SIGNED_AT_MS = 1_764_063_000_250


def record(
    topic: str = TICKET_EVENTS.name, key: str | None = TICKET, **value: object
) -> TopicRecord:
    body = json.dumps({"type": "TicketOpened", **value}).encode()
    return TopicRecord(topic, 2, 17, SIGNED_AT_MS, key, body)


@pytest.mark.parametrize(
    ("wanted", "shown"),
    [
        (RecordFilter(), True),
        (RecordFilter(tickets=frozenset({TICKET})), True),
        (RecordFilter(tickets=frozenset({"TCK-OTHER"})), False),
        (RecordFilter(incidents=frozenset({INCIDENT})), True),
        (RecordFilter(tickets=frozenset({"TCK-OTHER"}), incidents=frozenset({INCIDENT})), True),
    ],
    ids=["no-filter", "its-ticket", "another-ticket", "its-incident", "either"],
)
def test_a_ticket_event_is_shown_for_its_ticket_or_its_incident(
    wanted: RecordFilter, shown: bool
) -> None:
    linked = record(ticket_id=TICKET, incident_id=INCIDENT)

    assert wanted.accepts(linked) is shown


def test_a_broadcast_chunk_is_found_by_the_incident_of_the_event_it_carries() -> None:
    chunk = record(INCIDENT_BROADCASTS.name, "e-1:0", event={"incident_id": INCIDENT}, chunk=0)

    assert RecordFilter(incidents=frozenset({INCIDENT})).accepts(chunk)


def test_a_record_is_found_by_its_key_when_its_value_is_not_json() -> None:
    garbled = TopicRecord(DEAD_LETTER.name, 0, 3, SIGNED_AT_MS, INCIDENT, b"\xff not json")

    assert RecordFilter(incidents=frozenset({INCIDENT})).accepts(garbled)
    assert not RecordFilter(tickets=frozenset({TICKET})).accepts(garbled)


@pytest.mark.parametrize(
    "name",
    ["switchboard.ticket-events.v1", "ticket-events.v1", "ticket-events"],
)
def test_a_topic_is_named_in_full_or_short(name: str) -> None:
    assert resolve_topics([name, "incident-events"]) == (TICKET_EVENTS, INCIDENT_EVENTS)


def test_no_topic_named_means_every_topic() -> None:
    assert resolve_topics([]) == ALL_TOPICS


def test_an_unknown_topic_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownTopic, match=r"ticket-events\.v1"):
        resolve_topics(["ticket-evnets"])


def test_the_summary_leaves_out_the_envelope_and_cuts_long_values() -> None:
    payload = {
        "type": "TicketOpened",
        "event_id": "e-1",
        "ticket_id": TICKET,
        "priority": "p2",
        "details": {"summary": "x" * 100},
        "note": None,
    }

    line = summary(payload)

    assert line.startswith('priority=p2 details={"summary":"xxx')
    assert line.endswith("…")
    assert "event_id" not in line
    assert "note" not in line


def test_a_line_names_the_time_topic_place_key_and_type() -> None:
    console = Console(width=200, color_system=None)

    with console.capture() as shown:
        console.print(describe(record(priority="p2")))

    assert (
        shown.get().strip()
        == f"09:30:00.250 ticket-events.v1[2]@17 {TICKET} TicketOpened priority=p2"
    )


def test_a_dead_letter_line_says_where_it_came_from_and_why() -> None:
    letter = TopicRecord(
        DEAD_LETTER.name,
        0,
        3,
        SIGNED_AT_MS,
        TICKET,
        b'{"type":"OpenTicket"}',
        {Header.SOURCE_TOPIC: "switchboard.ticket-commands.v1", Header.ERROR: "invalid message"},
    )

    assert describe(letter).plain.endswith("from ticket-commands.v1: invalid message")


def test_the_json_mode_writes_one_object_a_line() -> None:
    lines: list[str] = []

    json_lines(lines.append)(record(ticket_id=TICKET))

    (line,) = lines
    assert line.endswith("\n")
    assert json.loads(line) == {
        "topic": TICKET_EVENTS.name,
        "partition": 2,
        "offset": 17,
        "timestamp": "2025-11-25T09:30:00.250000+00:00",
        "key": TICKET,
        "headers": {},
        "value": {"type": "TicketOpened", "ticket_id": TICKET},
    }


def test_the_tools_find_the_local_stack_by_its_pid_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SWITCHBOARD_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("SWITCHBOARD_MONGO_URL", raising=False)
    write_pid_file(tmp_path / "kafka.pid", PidRecord(1, ("java",), "127.0.0.1:19092"))
    write_pid_file(tmp_path / "store.pid", PidRecord(2, ("java",), "mongodb://127.0.0.1:37017/"))

    assert local_kafka_bootstrap(tmp_path) == "127.0.0.1:19092"
    assert local_mongo_url(tmp_path) == "mongodb://127.0.0.1:37017/"
    monkeypatch.setenv("SWITCHBOARD_KAFKA_BOOTSTRAP", "kafka:9092")
    assert local_kafka_bootstrap(tmp_path) == "kafka:9092"
    assert local_kafka_bootstrap(tmp_path / "nothing-runs") == "kafka:9092"


def test_a_replayed_message_says_who_replayed_it() -> None:
    replayed = TopicRecord(
        TICKET_EVENTS.name, 2, 18, SIGNED_AT_MS, TICKET, b"{}", {ReplayHeader.BY: "ana@noc"}
    )

    assert describe(replayed).plain.endswith("replayed by ana@noc")
