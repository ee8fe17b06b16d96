"""Notification documents: stored once under a deterministic id, then leased for delivery."""

import logging
from datetime import datetime, timedelta

from pymongo import ReturnDocument

from shared.coalesce import CoalescedInserts
from shared.mongo import Collection, Document
from shared.vocabulary import DeliveryStatus

_DIGEST_FIELDS = ("_id", "event_id", "event_type", "subject", "body", "occurred_at")
log = logging.getLogger("switchboard.notifier.store")


class NotificationStore:
    def __init__(self, notifications: Collection) -> None:
        self._notifications = notifications
        # The notifications of a batch of events, stored by one write.
        self._inserts = CoalescedInserts(notifications)

    async def add(self, documents: list[Document]) -> int:
        """Insert the notifications not stored yet; returns how many were new."""
        return len(await self.add_new(documents))

    async def add_new(self, documents: list[Document]) -> set[str]:
        """Insert the notifications not stored yet; returns the ids of the new ones."""
        return await self._inserts.insert_new(documents)

    async def attempt_states(self, ids: list[str]) -> list[Document]:
        """The stored status and attempt count of these notifications, read by `_id`."""
        cursor = self._notifications.find({"_id": {"$in": ids}}, {"status": 1, "attempts": 1})
        return [document async for document in cursor]

    async def fold_into_held(self, document: Document) -> str | None:
        """Fold a new notification into an earlier one of the same ticket, contact and channel
        that is still held (never leased); returns that one's id, or None if there is none.
        """
        part = {key: document[key] for key in _DIGEST_FIELDS}
        held: Document | None = await self._notifications.find_one_and_update(
            {
                "ticket_id": document["ticket_id"],
                "contact_id": document["contact_id"],
                "channel": document["channel"],
                "status": DeliveryStatus.PENDING.value,
                "leased_at": None,
                "created_at": {"$lt": document["created_at"]},
                "digest._id": {"$ne": document["_id"]},
            },
            {"$push": {"digest": part}},
            sort=[("created_at", 1)],
        )
        if held is None:
            return None
        await self._notifications.update_one(
            {"_id": document["_id"], "status": DeliveryStatus.PENDING.value},
            {"$set": {"status": DeliveryStatus.COLLAPSED.value, "collapsed_into": held["_id"]}},
        )
        return str(held["_id"])

    async def lease_due(self, now: datetime, lease: timedelta) -> Document | None:
        """Claim one due delivery; the lease keeps other notifier instances off it.

        Notifications never tried come first, so a fresh one is not queued behind a backlog of
        retries that fell due at the same time (after an outage of a receiver, say).
        """
        for tried in ({"attempts": {"$in": [None, 0]}}, {}):
            result: Document | None = await self._notifications.find_one_and_update(
                {"status": DeliveryStatus.PENDING.value, **tried, "next_attempt_at": {"$lte": now}},
                {"$set": {"next_attempt_at": now + lease, "leased_at": now}},
                sort=[("next_attempt_at", 1)],
                return_document=ReturnDocument.AFTER,
            )
            if result is not None:
                return result
        return None

    async def record_delivered(
        self, notification_id: str, now: datetime, outcome: Document
    ) -> None:
        """Delivered; its delivery events are owed until `mark_events_published`."""
        fields = {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now}
        await self._notifications.update_one(
            {"_id": notification_id},
            {
                "$set": {**fields, **_events_owed(now)},
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
            {
                "$set": {**fields, **_events_owed(outcome["at"])},
                "$inc": {"attempts": 1},
                "$push": {"outcomes": outcome},
            },
        )

    async def mark_events_published(self, notification_id: str, attempts: int) -> None:
        """The events of every attempt up to `attempts` are on Kafka; a later one's still owed."""
        await self._notifications.update_one(
            {"_id": notification_id, "attempts": attempts}, {"$set": {"events_owed": False}}
        )

    async def owing_events(self, recorded_before: datetime, limit: int) -> list[Document]:
        """Notifications whose outcome was recorded but whose events a crash kept off Kafka."""
        cursor = self._notifications.find(
            {"events_owed": True, "outcome_recorded_at": {"$lt": recorded_before}}, limit=limit
        )
        return [document async for document in cursor]


def _events_owed(now: datetime) -> Document:
    # Set in the same write as the outcome, so an outcome is never recorded without its events.
    return {"events_owed": True, "outcome_recorded_at": now}
