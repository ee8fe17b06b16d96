"""The one small interface every delivery channel implements."""

from dataclasses import dataclass
from typing import Protocol

from shared.customers import Contact
from shared.mongo import Document


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    delivered: bool
    error: str | None = None
    status_code: int | None = None
    retryable: bool = True


class ChannelAdapter(Protocol):
    async def deliver(self, notification: Document, contact: Contact) -> DeliveryResult:
        """Hand one notification to one contact address; never raises for a failed delivery."""
        ...
