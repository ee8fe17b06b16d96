"""Dead letters: see them, and replay one to the topic it came from, once, saying who did it.

Each replay is recorded in the `dead_letter_replays` collection, keyed by the dead letter's
partition and offset. The record is inserted before the message is published: the unique
`_id` lets exactly one operator claim a dead letter, however many try at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.topics import ALL_TOPICS, DEAD_LETTER, DeadLetterHeader
from tools.records import TopicRecord

REPLAYS_COLLECTION = "dead_letter_replays"
Replays = AsyncCollection[dict[str, Any]]


class ReplayHeader:
    """Headers a replayed message carries: where it was replayed from, by whom and when."""

    FROM = "x-replayed-from"
    BY = "x-replayed-by"
    AT = "x-replayed-at"


class ReplayRefused(Exception):
    """This dead letter cannot be replayed (again)."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record of the dead-letter topic, with the reasons and origin its headers give."""

    record: TopicRecord

    @property
    def replay_id(self) -> str:
        return f"{self.record.partition}:{self.record.offset}"

    @property
    def source_topic(self) -> str:
        return self.record.headers.get(DeadLetterHeader.SOURCE_TOPIC, "")

    @property
    def error(self) -> str:
        return self.record.headers.get(DeadLetterHeader.ERROR, "")

    def as_json(self, replay: dict[str, Any] | None) -> dict[str, Any]:
        return {**self.record.as_json(), "replay": replay}


def as_dead_letter(record: TopicRecord) -> DeadLetter:
    if record.topic != DEAD_LETTER.name:
        raise ValueError(f"{record.topic} is not the dead-letter topic")
    return DeadLetter(record)


async def replays_of(replays: Replays, letters: list[DeadLetter]) -> dict[str, dict[str, Any]]:
    """The replay records of these dead letters, by replay id."""
    found = replays.find({"_id": {"$in": [letter.replay_id for letter in letters]}})
    return {str(document["_id"]): document async for document in found}


async def replay(
    letter: DeadLetter, producer: AIOKafkaProducer, replays: Replays, by: str, now: datetime
) -> dict[str, Any]:
    """Publish the dead letter's value to its source topic with its key, once; the record."""
    target = _replay_target(letter)
    claim = {
        "_id": letter.replay_id,
        "state": "replaying",
        "replayed_by": by,
        "replayed_at": now,
        "source_topic": target,
        "key": letter.record.key,
        "error": letter.error,
    }
    try:
        await replays.insert_one(claim)
    except DuplicateKeyError:
        earlier = await replays.find_one({"_id": letter.replay_id}) or {}
        raise ReplayRefused(_already(letter, earlier)) from None
    try:
        sent = await producer.send_and_wait(
            target,
            letter.record.value,
            key=letter.record.key.encode() if letter.record.key is not None else None,
            headers=_replay_headers(letter, by, now),
        )
    except BaseException:
        # Nothing was published: free the claim so the replay can be tried again.
        await replays.delete_one({"_id": letter.replay_id, "state": "replaying"})
        raise
    done = {"state": "replayed", "partition": sent.partition, "offset": sent.offset}
    await replays.update_one({"_id": letter.replay_id}, {"$set": done})
    return {**claim, **done}


def _replay_target(letter: DeadLetter) -> str:
    known = {topic.name for topic in ALL_TOPICS} - {DEAD_LETTER.name}
    if letter.source_topic not in known:
        raise ReplayRefused(
            f"dead letter {letter.replay_id} names no topic to replay to "
            f"({DeadLetterHeader.SOURCE_TOPIC}: {letter.source_topic!r})"
        )
    return letter.source_topic


def _replay_headers(letter: DeadLetter, by: str, now: datetime) -> list[tuple[str, bytes]]:
    where = f"{DEAD_LETTER.name}:{letter.replay_id}"
    return [
        (ReplayHeader.FROM, where.encode()),
        (ReplayHeader.BY, by.encode()),
        (ReplayHeader.AT, now.isoformat().encode()),
    ]


def _already(letter: DeadLetter, earlier: dict[str, Any]) -> str:
    who = earlier.get("replayed_by", "someone")
    at = earlier.get("replayed_at")
    when = at.strftime("%Y-%m-%d %H:%M:%S %Z") if isinstance(at, datetime) else "?"
    if earlier.get("state") == "replaying":
        # Claimed, not yet published: under way, or its replay died before it could publish.
        return (
            f"dead letter {letter.replay_id} is being replayed by {who} since {when}; if that"
            f" replay died, delete _id {letter.replay_id!r} from {REPLAYS_COLLECTION} to retry"
        )
    return f"dead letter {letter.replay_id} was already replayed by {who} at {when}"
