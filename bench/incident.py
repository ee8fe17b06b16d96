"""An outage declared through intake, and its notifications followed as an operator would.

While the broadcast runs, the bench reads the incident through intake (GET /v1/incidents/{id})
every `poll_s`: its counts are the ones the notifier keeps as it goes, a few hundred small
documents read by the incident's index, so following them costs the platform next to nothing.
Once they say every notification is delivered, the notifications themselves are counted in the
store, once: the ground truth the figures rest on (a count that disagrees is reported and the
following goes on). Earlier versions of this bench counted the notifications all along; at
200,000 notifications each count was a scan of seconds, load on the server being measured.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from bench.stats import Figures, Sample
from bench.tickets import Intake, expect_status
from shared.mongo import Collection, Collections, Database, Document
from shared.vocabulary import DeliveryStatus

# After a store count that disagreed with the incident's counts, the next one waits long
# enough for counting to take at most this share of the store's time.
MAX_SCAN_SHARE = 0.1
SHOW_EVERY_S = 5.0  # least time between progress lines


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
    """How far a broadcast got; times in seconds since the 202. `stored` and `delivered` are
    the incident's counts while it runs, and the store's once confirmed or timed out."""

    expected: int
    stored: int = 0
    delivered: int = 0
    stored_seen_s: float | None = None
    delivered_seen_s: float | None = None
    read_s: list[float] = field(default_factory=list)  # the incident read through intake
    count_s: list[float] = field(default_factory=list)  # the notifications counted in the store
    disagreements: int = 0  # the incident's counts said all delivered; the store did not
    shown_at: float = 0.0  # when a progress line was printed last

    @property
    def all_stored(self) -> bool:
        return self.stored >= self.expected

    @property
    def all_delivered(self) -> bool:
        return self.delivered >= self.expected

    def line(self, elapsed_s: float) -> str:
        counts = f"{self.stored}/{self.expected} stored, {self.delivered} delivered"
        return f"{elapsed_s:.1f}s after the 202: {counts}"

    def follow_figures(self, elapsed_s: float) -> Figures:
        """What following cost: the reads through intake, the counts in the store, and the
        counts' share of the time they were taken in."""
        reads = Sample(tuple(self.read_s), elapsed_s)
        counts = Sample(tuple(self.count_s), elapsed_s)
        return {
            "poll_reads": len(self.read_s),
            **reads.latency_figures("poll_read"),
            "count_queries": len(self.count_s),
            "count_share_of_time": sum(self.count_s) / elapsed_s,
            **counts.latency_figures("count_query"),
            "count_disagreements": self.disagreements,
        }


@dataclass(frozen=True)
class IncidentNotifications:
    """The notifications one incident's broadcast stores: followed by the incident's counts
    through intake, counted in the `notifications` collection to confirm."""

    database: Database
    intake: Intake
    incident_id: str

    async def follow(
        self, accepted_at: float, expected: int, timeout_s: float, poll_s: float
    ) -> Progress:
        """Until all `expected` are delivered by the store's count, or `timeout_s` after the
        202 has passed (then with fresh counts from the store)."""
        progress = Progress(expected)
        next_count_at = accepted_at
        while time.time() - accepted_at < timeout_s:
            await self._read_counts(progress, accepted_at)
            if progress.all_delivered and time.time() >= next_count_at:
                if await self._confirmed(progress, accepted_at):
                    return progress
                next_count_at = time.time() + progress.count_s[-1] / MAX_SCAN_SHARE
            await asyncio.sleep(poll_s)
        progress.stored, progress.delivered = await self._store_counts(progress)
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

    async def _read_counts(self, progress: Progress, accepted_at: float) -> None:
        """The incident's counts as intake serves them (none yet until the workflow stored
        the incident: 404)."""
        started = time.perf_counter()
        response = await self.intake.http.get(
            f"/v1/incidents/{self.incident_id}", headers={"X-API-Key": self.intake.agent_key}
        )
        progress.read_s.append(time.perf_counter() - started)
        if response.status_code == 404:
            return
        expect_status(response, 200)
        total = response.json()["counts"]["total"]
        progress.stored, progress.delivered = total["notified"], total["delivered"]
        if progress.all_stored and progress.stored_seen_s is None:
            progress.stored_seen_s = time.time() - accepted_at
        if time.time() - progress.shown_at >= SHOW_EVERY_S or progress.all_delivered:
            progress.shown_at = time.time()
            print(f"  {progress.line(progress.shown_at - accepted_at)}", flush=True)

    async def _confirmed(self, progress: Progress, accepted_at: float) -> bool:
        """Whether the store holds every notification, delivered, as the counts said."""
        stored, delivered = await self._store_counts(progress)
        if stored >= progress.expected and delivered >= progress.expected:
            progress.stored, progress.delivered = stored, delivered
            progress.delivered_seen_s = time.time() - accepted_at
            return True
        progress.disagreements += 1
        print(f"  the store counts {stored} stored, {delivered} delivered", flush=True)
        return False

    async def _store_counts(self, progress: Progress) -> tuple[int, int]:
        """The incident's notifications in the store: stored, and delivered."""
        stored = await self._count(progress)
        return stored, await self._count(progress, DeliveryStatus.DELIVERED)

    async def _count(self, progress: Progress, status: DeliveryStatus | None = None) -> int:
        query: Document = {"incident_id": self.incident_id}
        if status is not None:
            query["status"] = status.value
        started = time.perf_counter()
        found = await self._notifications.count_documents(query)
        progress.count_s.append(time.perf_counter() - started)
        return found

    @property
    def _notifications(self) -> Collection:
        return self.database[Collections.NOTIFICATIONS]
