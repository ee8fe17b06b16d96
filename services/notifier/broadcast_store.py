"""Broadcast records: one plan per incident event, and the progress of each chunk.

Both collections stay small (one document per event, one per chunk), so reading or updating
one document by `_id` stays cheap however many notifications a broadcast stores.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from shared.mongo import Collection, Document


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

    async def record_stored(self, chunk_key: str, ids: list[str], lease_until: datetime) -> None:
        """These notifications are stored and their delivery events published; the claim is
        renewed in the same write."""
        update: Document = {"$set": {"lease_until": lease_until}}
        if ids:
            update["$push"] = {"stored": {"$each": ids}}
        await self._chunks.update_one({"_id": chunk_key}, update)

    async def complete(self, chunk_key: str, now: datetime, notifications: int) -> None:
        # The stored ids are no longer needed: the chunk is done whoever gets it again.
        await self._chunks.update_one(
            {"_id": chunk_key},
            {"$set": {"completed_at": now, "stored": [], "notifications": notifications}},
        )
