"""SMS channel: a JSON POST to an SMS gateway, with the notification id as idempotency key."""

import httpx

from services.notifier.channels.base import DeliveryResult
from services.notifier.settings import NotifierSettings
from shared.customers import Contact
from shared.mongo import Document

TEXT_LIMIT = 480  # three concatenated SMS segments
# Client errors that a retry cannot fix are given up at once; these two are worth retrying.
_RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})


def sms_text(notification: Document) -> str:
    text = f"{notification['subject']}\n{notification['body']}".strip()
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1].rstrip() + "\u2026"


class SmsChannel:
    def __init__(
        self,
        client: httpx.AsyncClient,
        gateway_url: str,
        token: str,
        sender: str,
        timeout_s: float = 10.0,
    ) -> None:
        self._client = client
        self._url = gateway_url
        self._token = token
        self._sender = sender
        self._timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: NotifierSettings, client: httpx.AsyncClient) -> "SmsChannel":
        return cls(
            client,
            settings.sms_gateway_url,
            settings.sms_gateway_token.get_secret_value(),
            settings.sms_sender,
            settings.sms_timeout_s,
        )

    async def deliver(self, notification: Document, contact: Contact) -> DeliveryResult:
        to = notification.get("address") or contact.phone
        if contact.phone is None or to is None:
            return DeliveryResult(
                delivered=False, error="no phone number any more", retryable=False
            )
        payload = {
            "to": to,
            "from": self._sender,
            "text": sms_text(notification),
            "reference": notification["_id"],
        }
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Idempotency-Key": notification["_id"],
        }
        try:
            response = await self._client.post(
                self._url, json=payload, headers=headers, timeout=self._timeout_s
            )
        except httpx.HTTPError as error:
            return DeliveryResult(delivered=False, error=f"{type(error).__name__}: {error}")
        if response.is_success:
            return DeliveryResult(delivered=True, status_code=response.status_code)
        code = response.status_code
        return DeliveryResult(
            delivered=False,
            status_code=code,
            error=" ".join(filter(None, [f"HTTP {code}", response.text[:200].strip()])),
            retryable=code >= 500 or code in _RETRYABLE_CLIENT_ERRORS,
        )
