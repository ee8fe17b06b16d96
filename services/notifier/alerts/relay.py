"""The alert relay: alerts taken from consumed records, posted at most once per interval as one
message, and the records' offsets committed only once what they raised was posted.

Nothing is lost: a record's offset is committed after its alert left (or after it raised none),
so a notifier that dies first reads it again. What can repeat is bounded: a notifier that dies
between a post and its commit posts that one message again after the restart.
"""

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from services.notifier.alerts.chat import AlertRefused
from services.notifier.domain.alerts import Alert, AlertDigest

log = logging.getLogger("switchboard.notifier.alerts")

Offsets = dict[TopicPartition, int]  # the next offset to read, as Kafka commits it


class ChatPoster(Protocol):
    async def post(self, text: str) -> None: ...


class OffsetCommitter(Protocol):
    """What the relay needs of the Kafka consumer the records came from."""

    def assignment(self) -> set[TopicPartition]: ...

    async def commit(self, offsets: Offsets) -> None: ...


class AlertTaker(Protocol):
    def take(
        self,
        alerts: Iterable[Alert],
        records: Iterable[tuple[str, int, int]],
        consumer: OffsetCommitter,
    ) -> None: ...


class AlertRelay:
    def __init__(
        self,
        chat: ChatPoster,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chat = chat
        self._interval_s = interval_s
        self._clock = clock
        self._digest = AlertDigest()
        self._handled: Offsets = {}
        self._committed: Offsets = {}
        self._consumer: OffsetCommitter | None = None
        self._last_post_at = -math.inf

    def take(
        self,
        alerts: Iterable[Alert],
        records: Iterable[tuple[str, int, int]],
        consumer: OffsetCommitter,
    ) -> None:
        """The alerts raised by these records (topic, partition, offset), all handled now."""
        self._digest.add(alerts)
        for topic, partition, offset in records:
            where = TopicPartition(topic, partition)
            self._handled[where] = max(self._handled.get(where, 0), offset + 1)
        self._consumer = consumer

    async def flush_due(self) -> None:
        """Post what is pending if the interval since the last post is over; commit what is
        safe to commit: everything handled, unless its alerts still wait for their turn."""
        if self._digest:
            if self._clock() >= self._last_post_at + self._interval_s:
                await self._post_pending()
        elif self._handled != self._committed:
            await self._commit(dict(self._handled))

    async def run(self, tick_s: float = 0.25) -> None:
        while True:
            await asyncio.sleep(tick_s)
            await self.flush_due()

    async def _post_pending(self) -> None:
        # Taken apart before the first await: what arrives during the post is the next message.
        digest, offsets = self._digest, dict(self._handled)
        self._digest = AlertDigest()
        try:
            await self._chat.post(digest.text())
        except AlertRefused as refused:
            log.exception(
                "the chat webhook refused an alert message; it is dropped",
                extra={"status": refused.status, "alerts": digest.total},
            )
        self._last_post_at = self._clock()
        await self._commit(offsets)

    async def _commit(self, offsets: Offsets) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        owned = consumer.assignment()
        mine = {where: offset for where, offset in offsets.items() if where in owned}
        for where in offsets.keys() - owned:  # handed to another instance: theirs to commit
            self._handled.pop(where, None)
        try:
            if mine:
                await consumer.commit(mine)
        except KafkaError as error:
            log.warning("alert offsets not committed; trying again", extra={"error": repr(error)})
            return
        self._committed.update(mine)
        for where in self._committed.keys() - self._handled.keys():
            del self._committed[where]
