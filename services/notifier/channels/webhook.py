"""Webhook channel: a signed JSON POST with the notification id as idempotency key."""

import json
import time
from typing import Any

import httpx

from services.notifier.channels.base import DeliveryResult
from services.notifier.domain.signature import SIGNATURE_HEADER, sign
from shared.mongo import Document

# Client errors that a retry cannot fix are given up at once; these few are worth retrying.
_RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 425, 429})


def webhook_body(notification: Document) -> bytes:
    payload: dict[str, Any] = {
        "notification_id": notification["_id"],
        "event_id": notification["event_id"],
        "type": notification["event_type"],
        "ticket_id": notification["ticket_id"],
        "customer_id": notification["customer_id"],
        "subject": notification["subject"],
        "message": notification["body"],
        "occurred_at": notification["occurred_at"],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


class WebhookChannel:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def deliver(self, notification: Document, contact: Document) -> DeliveryResult:
        body = webhook_body(notification)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(contact["secret"], int(time.time()), body),
            "Idempotency-Key": notification["_id"],
            "Switchboard-Event-Type": notification["event_type"],
        }
        try:
            response = await self._client.post(contact["url"], content=body, headers=headers)
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
