"""The delivery loop: lease due notifications, hand them to their channel, record the outcome."""

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from services.notifier.channels.base import ChannelAdapter, DeliveryResult
from services.notifier.domain.retry import retry_at
from services.notifier.settings import NotifierSettings
from services.notifier.store import CustomerDirectory, NotificationStore
from shared.mongo import Document

log = logging.getLogger("switchboard.notifier.deliveries")


class DeliveryWorker:
    def __init__(
        self,
        store: NotificationStore,
        directory: CustomerDirectory,
        channels: Mapping[str, ChannelAdapter],
        clock: Callable[[], datetime],
        settings: NotifierSettings,
    ) -> None:
        self._store = store
        self._directory = directory
        self._channels = channels
        self._clock = clock
        self._settings = settings
        self._slots = asyncio.Semaphore(settings.delivery_concurrency)
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """New notifications were stored: deliver now rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                await self.deliver_due()
            except Exception:
                log.exception("delivery pass failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._settings.delivery_poll_s)

    async def deliver_due(self) -> int:
        lease = timedelta(seconds=self._settings.delivery_lease_s)
        started = 0
        async with asyncio.TaskGroup() as group:
            while True:
                await self._slots.acquire()
                notification = await self._store.lease_due(self._clock(), lease)
                if notification is None:
                    self._slots.release()
                    return started
                group.create_task(self._deliver_and_release(notification))
                started += 1

    async def _deliver_and_release(self, notification: Document) -> None:
        try:
            await self.deliver(notification)
        except Exception:
            # The lease expires and the notification is tried again; log, never lose it.
            log.exception(
                "delivery failed unexpectedly", extra={"notification": notification["_id"]}
            )
        finally:
            self._slots.release()

    async def deliver(self, notification: Document) -> None:
        result = await self._attempt(notification)
        now = self._clock()
        outcome: Document = {
            "at": now,
            "delivered": result.delivered,
            "status_code": result.status_code,
            "error": result.error,
        }
        if result.delivered:
            await self._store.record_delivered(notification["_id"], now, outcome)
            return
        attempts = notification.get("attempts", 0) + 1
        settings = self._settings
        next_try = (
            retry_at(
                now,
                attempts_made=attempts,
                max_attempts=settings.delivery_max_attempts,
                base_s=settings.delivery_backoff_s,
                cap_s=settings.delivery_backoff_max_s,
                jitter=random.random(),  # noqa: S311 - jitter, not a secret
            )
            if result.retryable
            else None
        )
        await self._store.record_failed_attempt(notification["_id"], outcome, next_try)
        log.warning(
            "delivery attempt failed",
            extra={
                "notification": notification["_id"],
                "error": result.error,
                "retry_at": next_try,
            },
        )

    async def _attempt(self, notification: Document) -> DeliveryResult:
        channel = self._channels.get(notification["channel"])
        customer = await self._directory.get(notification["customer_id"])
        contact = (customer or {}).get(notification["channel"])
        if channel is None or not contact:
            return DeliveryResult(
                delivered=False, error="no contact for this channel", retryable=False
            )
        return await channel.deliver(notification, contact)
