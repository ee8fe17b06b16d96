"""Publishing commands to Kafka: a 2xx is only ever answered after Kafka acknowledged."""

import asyncio
import logging

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher import DefaultPublisher

from shared.events import Command

log = logging.getLogger("switchboard.intake.commands")


class KafkaUnavailable(Exception):
    """Kafka did not acknowledge the command in time; nothing was accepted."""


class CommandBus:
    def __init__(self, broker: KafkaBroker, publisher: DefaultPublisher, timeout_s: float) -> None:
        self._broker = broker
        self._publisher = publisher
        self._timeout_s = timeout_s
        self._connected = asyncio.Event()

    async def connect(self, retry_s: float = 2.0) -> None:
        """Connect, retrying until Kafka answers; the API serves 503s meanwhile."""
        while not self._connected.is_set():
            try:
                await self._broker.start()
            except (KafkaError, OSError) as error:
                log.warning("kafka not reachable yet", extra={"error": str(error)})
                await asyncio.sleep(retry_s)
            else:
                self._connected.set()

    async def send(self, command: Command, key: str) -> None:
        if not self._connected.is_set():
            raise KafkaUnavailable("not connected to Kafka")
        try:
            await asyncio.wait_for(
                self._publisher.publish(command, key=key.encode()), self._timeout_s
            )
        except (KafkaError, TimeoutError) as error:
            raise KafkaUnavailable(str(error) or type(error).__name__) from error

    async def ready(self, timeout_s: float = 2.0) -> bool:
        return self._connected.is_set() and await self._broker.ping(timeout_s)

    async def close(self) -> None:
        await self._broker.stop()
