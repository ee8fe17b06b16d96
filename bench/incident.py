"""An outage declared through intake, and its notifications followed in the store by counting.

Every count reads the incident's notifications through its index on the server being measured (a
fraction of a second with a few hundred thousand). So counts are spaced at least `poll_s` apart
and far enough for counting to take at most MAX_SCAN_SHARE of the time, delivered ones are
counted only once all are stored, and what the counts cost is reported with the figures. A cheap
sign that the broadcast may be complete (the sink has every webhook) brings the next count
forward.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bench.stats import Figures, Sample
from bench.tickets import Intake, expect_status
from shared.mongo import Collection, Collections, Database, Document
from shared.vocabulary import DeliveryStatus

MAX_SCAN_SHARE = 0.1
SIGN_POLL_S = 0.1  # how often the cheap sign of completion is looked at


async def declare_outage(intake: Intake, region: str) -> tuple[str, float]:
    """POST /v1/incidents for everyone in `region`: the incident id and when it was accepted
    (wall clock, the 202), the moment the broadcast is timed from."""
    response = await intake.http.post(
        "/v1/incidents",
        json={
            "title": f"Calls failing in {region}",
            "severity": "critical",
            "scope": {"regions": [region]},
            "message": "Calls into the region fail; engineers are rerouting traffic.",
        },
        headers={"X-API-Key": intake.agent_key, "Idempotency-Key": str(uuid.uuid4())},
    )
    accepted_at = time.time()
    expect_status(response, 202)
    incident_id: str = response.json()["incident_id"]
    return incident_id, accepted_at


@dataclass
class Progress:
    """How far a broadcast got by the bench's counts; times in seconds since the 202."""

    expected: int
    stored: int = 0
    delivered: int = 0
    stored_seen_s: float | None = None
    delivered_seen_s: float | None = None
    query_s: list[float] = field(default_factory=list)

    @property
    def all_stored(self) -> bool:
        return self.stored >= self.expected

    @property
    def all_delivered(self) -> bool:
        return self.delivered >= self.expected

    def line(self, elapsed_s: float) -> str:
        counts = f"{self.stored}/{self.expected} stored, {self.delivered} delivered"
        return f"{elapsed_s:.1f}s after the 202: {counts}"

    def poll_figures(self, elapsed_s: float) -> Figures:
        """How many counts, what each cost, and their share of the time they were taken in."""
        queries = Sample(tuple(self.query_s), elapsed_s)
        return {
            "poll_queries": len(self.query_s),
            "poll_share_of_time": sum(self.query_s) / elapsed_s,
            **queries.latency_figures("poll_query"),
        }


@dataclass(frozen=True)
class IncidentNotifications:
    """The notifications one incident's broadcast stores, counted in the `notifications`."""

    database: Database
    incident_id: str
    may_be_complete: Callable[[], bool] = lambda: False  # cheap; True brings a count forward

    async def follow(
        self, accepted_at: float, expected: int, timeout_s: float, poll_s: float
    ) -> Progress:
        """Count until all `expected` are delivered or `timeout_s` after the 202 has passed."""
        progress = Progress(expected)
        counted_at = accepted_at
        while not progress.all_delivered and time.time() - accepted_at < timeout_s:
            if time.time() >= counted_at + self._pause(progress, poll_s):
                await self._poll(progress, accepted_at)
                counted_at = time.time()
                print(f"  {progress.line(counted_at - accepted_at)}", flush=True)
            await asyncio.sleep(SIGN_POLL_S)
        if not progress.all_delivered:  # timed out: fresh partial counts
            progress.stored = await self._count(progress)
            progress.delivered = await self._count(progress, DeliveryStatus.DELIVERED)
        return progress

    async def latest(self, stamp: str) -> datetime | None:
        """The notifier's latest `created_at` or `delivered_at` among them."""
        document = await self._notifications.find_one(
            {"incident_id": self.incident_id, stamp: {"$ne": None}},
            {stamp: 1},
            sort=[(stamp, -1)],
        )
        return document[stamp] if document else None

    async def failed(self) -> int:
        query = {"incident_id": self.incident_id, "status": DeliveryStatus.FAILED.value}
        return await self._notifications.count_documents(query)

    def _pause(self, progress: Progress, poll_s: float) -> float:
        """Until the next count: poll_s once complete may be near, else long enough for the
        counts to take at most MAX_SCAN_SHARE of the store's time."""
        if not progress.query_s or self.may_be_complete():
            return poll_s
        return max(poll_s, progress.query_s[-1] / MAX_SCAN_SHARE)

    async def _poll(self, progress: Progress, accepted_at: float) -> None:
        if not progress.all_stored:
            progress.stored = await self._count(progress)
            if progress.all_stored:
                progress.stored_seen_s = time.time() - accepted_at
        if progress.all_stored:
            progress.delivered = await self._count(progress, DeliveryStatus.DELIVERED)
            if progress.all_delivered:
                progress.delivered_seen_s = time.time() - accepted_at

    async def _count(self, progress: Progress, status: DeliveryStatus | None = None) -> int:
        query: Document = {"incident_id": self.incident_id}
        if status is not None:
            query["status"] = status.value
        started = time.perf_counter()
        found = await self._notifications.count_documents(query)
        progress.query_s.append(time.perf_counter() - started)
        return found

    @property
    def _notifications(self) -> Collection:
        return self.database[Collections.NOTIFICATIONS]
