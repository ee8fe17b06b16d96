"""The consoles connected to this intake, and the work done for them only while there are any.

While at least one console is open the hub follows the ticket events and dead letters on
Kafka, reads the open incidents' counts every second and the consumer lag every few seconds,
and hands each change to every console. When the last one closes, all of it stops.
"""

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from services.intake.console.board import ConsoleReads
from services.intake.console.feeds import DEAD_LETTERS_SHOWN, LagReader, TopicFollower
from services.intake.console.views import board_ticket, incident_entry

log = logging.getLogger("switchboard.intake.console")

INCIDENT_POLL_S = 1.0
RETRY_S = 2.0
QUEUE_MAX = 1000  # a console this far behind is sent a fresh snapshot instead


@dataclass(frozen=True, slots=True)
class ConsoleEvent:
    event: str
    data: Any

    def json(self) -> str:
        return json.dumps(self.data, separators=(",", ":"), default=str)


Follow = Callable[[], AbstractAsyncContextManager[TopicFollower]]
ReadLag = Callable[[], AbstractAsyncContextManager[LagReader]]


class ConsoleHub:
    def __init__(
        self, reads: ConsoleReads, follow: Follow, read_lag: ReadLag, lag_poll_s: float
    ) -> None:
        self._reads = reads
        self._follow = follow
        self._read_lag = read_lag
        self._lag_poll_s = lag_poll_s
        self._consoles: set[asyncio.Queue[ConsoleEvent | None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._following = asyncio.Event()
        self._dead_letters: deque[dict[str, Any]] = deque(maxlen=DEAD_LETTERS_SHOWN)
        self._incidents: list[dict[str, Any]] | None = None
        self._lag: list[dict[str, Any]] = []

    @property
    def consoles(self) -> int:
        return len(self._consoles)

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def events(self) -> AsyncIterator[ConsoleEvent]:
        """A snapshot, then every change, until the console goes away."""
        queue: asyncio.Queue[ConsoleEvent | None] = asyncio.Queue(QUEUE_MAX)
        self._consoles.add(queue)
        self._start()
        try:
            while True:
                for event in await self._snapshot():
                    yield event
                while (change := await queue.get()) is not None:
                    yield change
        finally:
            self._consoles.discard(queue)
            if not self._consoles:
                self._cancel()

    async def stop(self) -> None:
        tasks = self._cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _cancel(self) -> list[asyncio.Task[None]]:
        # Not awaited where a console leaves: its stream is being cancelled itself.
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        self._following.clear()
        self._incidents = None
        return tasks

    def _start(self) -> None:
        if self._tasks:
            return
        loops = {
            "console-topics": self._follow_topics,
            "console-incidents": self._poll_incidents,
            "console-lag": self._poll_lag,
        }
        self._tasks = [
            asyncio.create_task(_retrying(name, loop), name=name) for name, loop in loops.items()
        ]

    async def _snapshot(self) -> list[ConsoleEvent]:
        # The follower is at the end of the ticket events before the board is read, so no
        # change between the two is lost; a ticket seen twice keeps its newest state.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._following.wait(), timeout=10)
        tickets = [board_ticket(ticket) for ticket in await self._reads.board()]
        incidents = self._incidents
        if incidents is None:
            incidents = [incident_entry(*found) for found in await self._reads.open_incidents()]
        return [
            ConsoleEvent("board", {"tickets": tickets, "limit": self._reads.board_limit}),
            ConsoleEvent("incidents", incidents),
            ConsoleEvent("dead-letters", list(self._dead_letters)),
            ConsoleEvent("lag", self._lag),
        ]

    def _publish(self, event: ConsoleEvent) -> None:
        for queue in self._consoles:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                queue.get_nowait()  # make room for the marker that asks for a fresh snapshot
                queue.put_nowait(None)

    async def _follow_topics(self) -> None:
        async with self._follow() as follower:
            self._following.set()
            while True:
                arrivals = await follower.next_arrivals()
                if arrivals.ticket_ids:
                    for ticket in await self._reads.tickets(arrivals.ticket_ids):
                        self._publish(ConsoleEvent("ticket", board_ticket(ticket)))
                if arrivals.dead_letters:
                    self._dead_letters.extend(e.as_json() for e in arrivals.dead_letters)
                    self._publish(ConsoleEvent("dead-letters", list(self._dead_letters)))

    async def _poll_incidents(self) -> None:
        while True:
            found = [incident_entry(*entry) for entry in await self._reads.open_incidents()]
            if found != self._incidents:
                self._incidents = found
                self._publish(ConsoleEvent("incidents", found))
            await asyncio.sleep(INCIDENT_POLL_S)

    async def _poll_lag(self) -> None:
        async with self._read_lag() as reader:
            while True:
                lag = await reader.lag()
                if lag != self._lag:
                    self._lag = lag
                    self._publish(ConsoleEvent("lag", lag))
                await asyncio.sleep(self._lag_poll_s)


async def _retrying(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    """Kafka or the store away: the console shows what it has and this tries again."""
    while True:
        try:
            await loop()
        except Exception:
            log.warning("console %s failed; retrying in %.0f s", name, RETRY_S, exc_info=True)
            await asyncio.sleep(RETRY_S)
