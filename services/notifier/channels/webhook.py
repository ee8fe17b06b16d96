"""Webhook channel: a signed JSON POST with the notification id as idempotency key.

At most a few deliveries are in flight to one receiver (origin) at a time, so a burst, an
outage broadcast say, never floods a customer's endpoint; the rest wait their turn.
"""

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from services.notifier.channels.base import DeliveryResult
from services.notifier.domain.signature import SIGNATURE_HEADER, sign
from services.notifier.settings import NotifierSettings
from shared.customers import Contact
from shared.mongo import Document

# Client errors that a retry cannot fix are given up at once; these few are worth retrying.
_RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 425, 429})


def webhook_body(notification: Document) -> bytes:
    payload: dict[str, Any] = {
        "notification_id": notification["_id"],
        "event_id": notification["event_id"],
        "type": notification["event_type"],
        "ticket_id": notification.get("ticket_id"),
        "incident_id": notification.get("incident_id"),  # set for an outage broadcast
        "customer_id": notification["customer_id"],
        "subject": notification["subject"],
        "message": notification["body"],
        "occurred_at": notification["occurred_at"],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def origin_of(url: str) -> str:
    """`scheme://host:port`: deliveries to one origin share its limit, whatever the path."""
    parsed = httpx.URL(url)
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme, 0)
    return f"{parsed.scheme}://{parsed.host}:{port}"


class EndpointBusy(Exception):
    """No delivery slot for this endpoint came free in time."""


class EndpointSlots:
    """A semaphore per origin, created on first use and dropped when nobody holds or awaits it."""

    def __init__(self, limit: int, wait_s: float) -> None:
        self.limit = limit
        self._wait_s = wait_s
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def slot(self, origin: str) -> AsyncIterator[None]:
        semaphore = self._semaphores.setdefault(origin, asyncio.Semaphore(self.limit))
        self._users[origin] += 1
        try:
            try:
                async with asyncio.timeout(self._wait_s):
                    await semaphore.acquire()
            except TimeoutError as error:
                raise EndpointBusy(origin) from error
            try:
                yield
            finally:
                semaphore.release()
        finally:
            self._users[origin] -= 1
            if not self._users[origin]:
                del self._users[origin], self._semaphores[origin]


class WebhookChannel:
    def __init__(
        self,
        client: httpx.AsyncClient,
        max_concurrent_per_endpoint: int = 4,
        timeout_s: float = 10.0,
    ) -> None:
        self._client = client
        self._timeout_s = timeout_s
        # A delivery waits for a slot at most as long as it may take itself, so a leased
        # notification is done (or rescheduled) well within its lease.
        self._slots = EndpointSlots(max_concurrent_per_endpoint, wait_s=timeout_s)

    @classmethod
    def from_settings(
        cls, settings: NotifierSettings, client: httpx.AsyncClient
    ) -> "WebhookChannel":
        return cls(client, settings.webhook_max_concurrent_per_endpoint, settings.webhook_timeout_s)

    async def deliver(self, notification: Document, contact: Contact) -> DeliveryResult:
        if contact.webhook is None:
            return DeliveryResult(delivered=False, error="no webhook any more", retryable=False)
        try:
            async with self._slots.slot(origin_of(contact.webhook.url)):
                return await self._post(notification, contact.webhook.url, contact.webhook.secret)
        except EndpointBusy:
            error = f"endpoint busy: {self._slots.limit} deliveries to it already in flight"
            return DeliveryResult(delivered=False, error=error)

    async def _post(self, notification: Document, url: str, secret: str) -> DeliveryResult:
        body = webhook_body(notification)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, int(time.time()), body),
            "Idempotency-Key": notification["_id"],
            "Switchboard-Event-Type": notification["event_type"],
        }
        try:
            response = await self._client.post(
                url, content=body, headers=headers, timeout=self._timeout_s
            )
        except httpx.HTTPError as error:
            return DeliveryResult(delivered=False, error=f"{type(error).__name__}: {error}")
        if response.is_success:
            return DeliveryResult(delivered=True, status_code=response.status_code)
        retryable = response.status_code >= 500 or response.status_code in _RETRYABLE_CLIENT_ERRORS
        return DeliveryResult(
            delivered=False,
            status_code=response.status_code,
            error=f"HTTP {response.status_code}",
            retryable=retryable,
        )
