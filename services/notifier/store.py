"""Notification documents: stored once under a deterministic id, then leased for delivery."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from shared.mongo import Collection, Document
from shared.vocabulary import DeliveryStatus

_DUPLICATE_KEY = 11000


class NotificationStore:
    def __init__(self, notifications: Collection) -> None:
        self._notifications = notifications

    async def add(self, documents: list[Document]) -> int:
        """Insert the notifications not stored yet; returns how many were new."""
        if not documents:
            return 0
        try:
            result = await self._notifications.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            details: Mapping[str, Any] = error.details
            if any(e.get("code") != _DUPLICATE_KEY for e in details.get("writeErrors", [])):
                raise
            return int(details.get("nInserted", 0))
        return len(result.inserted_ids)

    async def lease_due(self, now: datetime, lease: timedelta) -> Document | None:
        """Claim one due delivery; the lease keeps other notifier instances off it."""
        result: Document | None = await self._notifications.find_one_and_update(
            {"status": DeliveryStatus.PENDING.value, "next_attempt_at": {"$lte": now}},
            {"$set": {"next_attempt_at": now + lease}},
            sort=[("next_attempt_at", 1)],
            return_document=ReturnDocument.AFTER,
        )
        return result

    async def record_delivered(
        self, notification_id: str, now: datetime, outcome: Document
    ) -> None:
        await self._notifications.update_one(
            {"_id": notification_id},
            {
                "$set": {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now},
                "$inc": {"attempts": 1},
                "$push": {"outcomes": outcome},
            },
        )

    async def record_failed_attempt(
        self, notification_id: str, outcome: Document, retry_at: datetime | None
    ) -> None:
        """Schedule the next try, or give up (retry_at None) with the failure recorded."""
        fields: Document = (
            {"next_attempt_at": retry_at}
            if retry_at is not None
            else {"status": DeliveryStatus.FAILED.value}
        )
        fields["last_error"] = outcome.get("error")
        await self._notifications.update_one(
            {"_id": notification_id},
            {"$set": fields, "$inc": {"attempts": 1}, "$push": {"outcomes": outcome}},
        )


class CustomerDirectory:
    def __init__(self, customers: Collection) -> None:
        self._customers = customers

    async def get(self, customer_id: str) -> Document | None:
        return await self._customers.find_one({"_id": customer_id})
