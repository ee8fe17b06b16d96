"""SLA clocks: due times from the rules, paused while waiting on the customer."""

from datetime import datetime, timedelta

from pydantic import AwareDatetime

from services.workflow.domain.rules import Rules, SlaTargets
from shared.events import ValueObject
from shared.vocabulary import Category, Priority


class Clocks(ValueObject):
    """A ticket's running clocks; a due time of None means that clock is not running."""

    first_response_due: AwareDatetime | None = None
    next_update_due: AwareDatetime | None = None
    resolution_due: AwareDatetime | None = None
    # While awaiting confirmation: when the ticket closes without an answer; once resolved:
    # when it closes for good.
    close_due: AwareDatetime | None = None
    paused_since: AwareDatetime | None = None
    first_response_breached: bool = False
    resolution_breached: bool = False

    @property
    def paused(self) -> bool:
        return self.paused_since is not None

    def next_due(self, stopped: bool = False) -> datetime | None:
        """The earliest moment something may fire; None while paused or with nothing running.

        Once the work is done (`stopped`), only the closing clock still runs.
        """
        if self.paused:
            return None
        if stopped:
            return self.close_due
        due = [
            self.first_response_due,
            self.next_update_due,
            self.resolution_due if not self.resolution_breached else None,
            self.close_due,
        ]
        return min((d for d in due if d is not None), default=None)


def start_clocks(priority: Priority, category: Category, now: datetime, rules: Rules) -> Clocks:
    targets = rules.sla.targets(priority, category)
    return Clocks(
        first_response_due=now + targets.first_response,
        next_update_due=now + targets.keep_in_loop,
        resolution_due=now + targets.resolution,
    )


def at_priority(clocks: Clocks, targets: SlaTargets, now: datetime) -> Clocks:
    """Clocks for a ticket made more urgent at `now`: each running deadline comes forward to
    what the new targets allow from now on, never later than it was. Deadlines that already
    passed are left to fire, and nothing is counted as missed before the ticket became urgent.
    """
    return clocks.model_copy(
        update={
            "first_response_due": _sooner(clocks.first_response_due, now + targets.first_response),
            "next_update_due": _sooner(clocks.next_update_due, now + targets.keep_in_loop),
            "resolution_due": _sooner(clocks.resolution_due, now + targets.resolution),
        }
    )


def pause(clocks: Clocks, now: datetime) -> Clocks:
    return clocks if clocks.paused else clocks.model_copy(update={"paused_since": now})


def resume(clocks: Clocks, now: datetime) -> Clocks:
    """Every running deadline moves later by exactly the time spent waiting on the customer."""
    if clocks.paused_since is None:
        return clocks
    waited = now - clocks.paused_since
    return clocks.model_copy(
        update={
            "paused_since": None,
            "first_response_due": _later(clocks.first_response_due, waited),
            "next_update_due": _later(clocks.next_update_due, waited),
            "resolution_due": _later(clocks.resolution_due, waited),
        }
    )


def _sooner(due: datetime | None, bound: datetime) -> datetime | None:
    return None if due is None else min(due, bound)


def _later(due: datetime | None, by: timedelta) -> datetime | None:
    return None if due is None else due + by
