"""Publishing commands to Kafka: a 2xx is only ever answered after Kafka acknowledged."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from shared.events import Command
from shared.incidents import IncidentCommand
from shared.producers import DirectPublisher

log = logging.getLogger("switchboard.intake.commands")

AnyCommand = Command | IncidentCommand


class KafkaUnavailable(Exception):
    """Kafka is known to be unreachable: the command was not handed to the producer at all."""


class KafkaOutcomeUnknown(Exception):
    """Kafka did not acknowledge in time; the command may still land, so retry with the same key.

    The idempotent producer never drops a batch it has queued, so a timed-out send can still
    reach Kafka later. A retry with the same Idempotency-Key names the same ticket and is
    deduplicated by the workflow, so it is always safe.
    """


@dataclass(frozen=True, slots=True)
class Publishers:
    """Where each kind of command goes: ticket commands and incident commands."""

    tickets: DirectPublisher
    incidents: DirectPublisher

    def for_command(self, command: AnyCommand) -> DirectPublisher:
        return self.incidents if isinstance(command, IncidentCommand) else self.tickets


class CommandBus:
    def __init__(
        self,
        broker: KafkaBroker,
        publishers: Publishers,
        timeout_s: float,
        prepare: Callable[[], Awaitable[None]],
        health_interval_s: float = 1.0,
    ) -> None:
        self._broker = broker
        self._prepare = prepare
        self._publishers = publishers
        self._timeout_s = timeout_s
        self._health_interval_s = health_interval_s
        self._reachable = False

    async def run(self) -> None:
        """Connect, then keep checking that Kafka answers; sends are refused while it does not."""
        await self._connect()
        while True:
            reachable = await self._broker.ping(self._health_interval_s)
            if reachable != self._reachable:
                log.warning("kafka reachability changed", extra={"reachable": reachable})
            self._reachable = reachable
            await asyncio.sleep(self._health_interval_s)

    async def _connect(self, retry_s: float = 2.0) -> None:
        while True:
            try:
                await self._prepare()
                await self._broker.start()
            except (KafkaError, OSError) as error:
                log.warning("kafka not reachable yet", extra={"error": str(error)})
                await asyncio.sleep(retry_s)
            else:
                self._reachable = True
                return

    async def send(self, command: AnyCommand, key: str) -> None:
        """Publish on the command's topic; returns only once Kafka acknowledged it."""
        if not self._reachable:
            # Refuse before queueing anything: a queued record would be delivered later.
            raise KafkaUnavailable("Kafka is unreachable")
        publisher = self._publishers.for_command(command)
        try:
            await asyncio.wait_for(publisher.publish([(key, command, None)]), self._timeout_s)
        except (KafkaError, TimeoutError) as error:
            raise KafkaOutcomeUnknown(str(error) or type(error).__name__) from error

    @property
    def reachable(self) -> bool:
        return self._reachable

    async def close(self) -> None:
        await self._broker.stop()
