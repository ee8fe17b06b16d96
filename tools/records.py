"""Records as operators see them: decoded, named by topic, filtered by ticket or incident."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.topics import ALL_TOPICS, Topic

TOPIC_PREFIX = "switchboard."
# Fields every message carries; a summary leaves them out because the line shows them already.
_ENVELOPE = frozenset(
    {"schema_version", "type", "event_id", "command_id", "occurred_at", "ticket_id", "incident_id"}
)
_SUMMARY_VALUE_CHARS = 60


class UnknownTopic(ValueError):
    """A topic name that is none of Switchboard's."""


@dataclass(frozen=True, slots=True)
class TopicRecord:
    """One Kafka record, its key and headers as text, its value as bytes."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: str | None
    value: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def payload(self) -> dict[str, Any] | None:
        """The value as a JSON object, or None if it is not one."""
        try:
            decoded = json.loads(self.value)
        except ValueError:
            return None
        return decoded if isinstance(decoded, dict) else None

    @property
    def message_type(self) -> str:
        payload = self.payload
        return str(payload.get("type", "?")) if payload else "?"

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)

    def as_json(self) -> dict[str, Any]:
        """Everything about the record, the value parsed when it is JSON."""
        payload = self.payload
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.at.isoformat(),
            "key": self.key,
            "headers": dict(self.headers),
            "value": payload if payload is not None else self.value.decode(errors="replace"),
        }


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which records to show: those of any of these tickets or incidents, or all when none."""

    tickets: frozenset[str] = frozenset()
    incidents: frozenset[str] = frozenset()

    def accepts(self, record: TopicRecord) -> bool:
        wanted = self.tickets | self.incidents
        return not wanted or bool(wanted & ids_of(record))


def ids_of(record: TopicRecord) -> set[str]:
    """The ticket and incident ids a record is about: its key and the ids in its value.

    A broadcast chunk is keyed by its incident event and carries that event whole, so the
    ids of an `event` inside the value count too.
    """
    payload = record.payload or {}
    inner = payload.get("event")
    found = [record.key, *_ids_in(payload), *_ids_in(inner if isinstance(inner, dict) else {})]
    return {value for value in found if isinstance(value, str)}


def _ids_in(payload: Mapping[str, Any]) -> tuple[Any, Any]:
    return payload.get("ticket_id"), payload.get("incident_id")


def short_name(topic: str) -> str:
    return topic.removeprefix(TOPIC_PREFIX)


def resolve_topics(names: Iterable[str]) -> tuple[Topic, ...]:
    """Topics by full name or short name (`ticket-events`, `ticket-events.v1`); all if none."""
    chosen = tuple(dict.fromkeys(_resolve(name) for name in names))
    return chosen or ALL_TOPICS


def _resolve(name: str) -> Topic:
    for topic in ALL_TOPICS:
        if name in {topic.name, short_name(topic.name), short_name(topic.name).rsplit(".", 1)[0]}:
            return topic
    known = ", ".join(short_name(topic.name) for topic in ALL_TOPICS)
    raise UnknownTopic(f"no topic {name!r}; the topics are: {known}")


def summary(payload: Mapping[str, Any] | None) -> str:
    """The value's own fields as `name=value`, each cut short: one readable line."""
    if payload is None:
        return ""
    parts = []
    for name, value in payload.items():
        if name in _ENVELOPE or value in (None, "", [], {}):
            continue
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        if len(text) > _SUMMARY_VALUE_CHARS:
            text = text[: _SUMMARY_VALUE_CHARS - 1] + "…"
        parts.append(f"{name}={text}")
    return " ".join(parts)
