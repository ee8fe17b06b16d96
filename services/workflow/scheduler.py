"""The SLA scheduler: turns due clocks into FireDueTimers commands through the normal path.

Timers live on the ticket documents (`next_timer_at`), so they survive a restart. A claim on
the document keeps a second workflow instance from issuing the same command at the same
time, and the command id names the due moment, so even a duplicate command decides nothing
twice: the workflow sees its events already applied.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from faststream.kafka.publisher import DefaultPublisher

from services.workflow.store import TicketStore
from shared.events import WORKFLOW, FireDueTimers

log = logging.getLogger("switchboard.workflow.scheduler")


class TimerScheduler:
    def __init__(
        self,
        store: TicketStore,
        commands: DefaultPublisher,
        clock: Callable[[], datetime],
        interval_s: float,
        lease_s: float,
    ) -> None:
        self._store = store
        self._commands = commands
        self._clock = clock
        self._interval_s = interval_s
        self._lease = timedelta(seconds=lease_s)

    async def fire_due(self, limit: int = 1000) -> int:
        """Issue one FireDueTimers per ticket whose clocks are due; returns how many."""
        fired = 0
        while fired < limit:
            now = self._clock()
            document = await self._store.claim_due_timer(now, self._lease)
            if document is None:
                break
            due: datetime = document["next_timer_at"]
            command = FireDueTimers(
                command_id=f"timers:{document['_id']}:{due.isoformat()}",
                issued_at=now,
                issued_by=WORKFLOW,
                ticket_id=document["_id"],
                reason="a clock is due",
            )
            await self._commands.publish(command, key=document["_id"].encode())
            fired += 1
        return fired

    async def run(self) -> None:
        while True:
            try:
                await self.fire_due()
            except Exception:
                log.exception("scheduler pass failed; retrying next interval")
            await asyncio.sleep(self._interval_s)
