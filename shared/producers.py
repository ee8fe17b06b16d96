"""A Kafka producer that outlives a broker restart: a fresh idempotent producer replaces one that
lost its sequence numbers.

aiokafka's idempotent producer cannot recover from `OutOfOrderSequenceNumber` (which a broker
restart under load can cause): its sender task ends, and every later send fails the same way
until the process restarts (aio-libs/aiokafka#1017). A new producer gets a new producer id,
whose sequences start again. The failed send still fails, so its caller retries as after any
Kafka error; handlers are idempotent, so a record written twice changes nothing.
"""

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import OutOfOrderSequenceNumber
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.producer import AioKafkaFastProducerImpl
from faststream.kafka.publisher.state import ProducerState, RealProducer

log = logging.getLogger("switchboard.kafka")
STOP_TIMEOUT_S = 5.0


class RenewingProducer(AioKafkaFastProducerImpl):
    """FastStream's producer, started again from scratch after a fatal sequence error."""

    __slots__ = ("_connection", "_renewing", "_tasks")

    def __init__(self, connection: Mapping[str, Any]) -> None:
        super().__init__(parser=None, decoder=None)
        self._connection = dict(connection)
        self._renewing = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def publish(self, cmd: Any) -> Any:
        used = self._producer
        try:
            result = await super().publish(cmd)
        except OutOfOrderSequenceNumber:
            await self._renew(used)
            raise
        if isinstance(result, asyncio.Future):  # not confirmed yet: renew when it fails
            result.add_done_callback(lambda sent: self._renew_if_fatal(sent, used))
        return result

    async def publish_batch(self, cmd: Any) -> Any:
        used = self._producer
        try:
            return await super().publish_batch(cmd)
        except OutOfOrderSequenceNumber:
            await self._renew(used)
            raise

    def _renew_if_fatal(self, sent: "asyncio.Future[Any]", used: ProducerState) -> None:
        if not sent.cancelled() and isinstance(sent.exception(), OutOfOrderSequenceNumber):
            task = asyncio.get_running_loop().create_task(self._renew(used))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _renew(self, broken: ProducerState) -> None:
        """Replace `broken` with a started producer, once however many sends saw it fail."""
        async with self._renewing:
            if self._producer is not broken:
                return
            log.warning("kafka producer lost its sequence numbers; starting a new one")
            producer = AIOKafkaProducer(**self._connection)
            await producer.start()
            self._producer = RealProducer(producer)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broken.stop(), STOP_TIMEOUT_S)


def renew_producer_on_fatal_errors(broker: KafkaBroker) -> None:
    """Give the broker a RenewingProducer; call before the broker connects."""
    broker.config.broker_config.producer = RenewingProducer(broker._connection_kwargs)
