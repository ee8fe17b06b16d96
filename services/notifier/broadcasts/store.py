"""Broadcast records: one plan per incident event, and the progress of each chunk.

Both collections stay small (one document per event, one per chunk), so reading or updating
one document by `_id` stays cheap however many notifications a broadcast stores. Each chunk
also counts its notifications by status as they are stored and settled (`counts`), so an
incident's reach is read from its chunks, never counted over the notifications.
"""

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from shared.mongo import Collection, Document


def chunk_key(event_id: str, chunk: int) -> str:
    """The chunk's partition key and the id of its progress record."""
    return f"{event_id}:{chunk}"


@dataclass(frozen=True, slots=True)
class ChunkProgress:
    """How far a chunk got: who works on it and until when, and what it already stored."""

    owner: str
    lease_until: datetime
    completed: bool = False
    stored: frozenset[str] = field(default_factory=frozenset)


class BroadcastStore:
    def __init__(self, plans: Collection, chunks: Collection) -> None:
        self._plans = plans
        self._chunks = chunks

    async def planned(self, event_id: str) -> bool:
        return await self._plans.find_one({"_id": event_id}) is not None

    async def record_plan(self, plan: Document) -> None:
        """Written once, after every chunk is on Kafka; a second write changes nothing."""
        with contextlib.suppress(DuplicateKeyError):
            await self._plans.insert_one(plan)

    async def progress(self, chunk_key: str) -> ChunkProgress | None:
        document = await self._chunks.find_one({"_id": chunk_key})
        if document is None:
            return None
        return ChunkProgress(
            owner=document["owner"],
            lease_until=document["lease_until"],
            completed=document.get("completed_at") is not None,
            stored=frozenset(document.get("stored", [])),
        )

    async def start(
        self, chunk_key: str, owner: str, lease_until: datetime, info: Document
    ) -> bool:
        """Claim a chunk nobody started; False when somebody did."""
        document = {
            "_id": chunk_key,
            **info,
            "owner": owner,
            "lease_until": lease_until,
            "stored": [],
            "completed_at": None,
        }
        try:
            await self._chunks.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def take_over(self, chunk_key: str, owner: str, lease_until: datetime) -> None:
        await self._chunks.update_one(
            {"_id": chunk_key}, {"$set": {"owner": owner, "lease_until": lease_until}}
        )

    async def record_stored(
        self,
        chunk_key: str,
        ids: list[str],
        lease_until: datetime,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        """These notifications are stored (`counts` of them by status) and their delivery
        events published; the claim is renewed in the same write, so each is counted once."""
        update: Document = {"$set": {"lease_until": lease_until}}
        if ids:
            update["$push"] = {"stored": {"$each": ids}}
        if counts:
            update["$inc"] = {f"counts.{status}": n for status, n in counts.items() if n}
        await self._chunks.update_one({"_id": chunk_key}, update)

    async def count_in_app(self, chunk_key: str, delivered: int) -> None:
        """The chunk's in-app notifications, delivered by being stored: counted once."""
        if delivered:
            await self._chunks.update_one(
                {"_id": chunk_key, "in_app_counted": {"$ne": True}},
                {"$set": {"in_app_counted": True}, "$inc": {"counts.delivered": delivered}},
            )

    async def count_settled(self, chunk_key: str, notification_id: str, status: str) -> None:
        """A notification stored as pending was delivered or given up; counted once."""
        await self._chunks.update_one(
            {"_id": chunk_key, "settled": {"$ne": notification_id}},
            {
                "$push": {"settled": notification_id},
                "$inc": {"counts.pending": -1, f"counts.{status}": 1},
            },
        )

    async def count_recovered(self, chunk_key: str, notification_id: str, status: str) -> None:
        """A notification stored by an instance that died before counting it: counted once."""
        await self._chunks.update_one(
            {"_id": chunk_key, "recounted": {"$ne": notification_id}},
            {"$push": {"recounted": notification_id}, "$inc": {f"counts.{status}": 1}},
        )

    async def complete(self, chunk_key: str, now: datetime, notifications: int) -> None:
        # The stored ids are no longer needed: the chunk is done whoever gets it again.
        await self._chunks.update_one(
            {"_id": chunk_key},
            {"$set": {"completed_at": now, "stored": [], "notifications": notifications}},
        )
