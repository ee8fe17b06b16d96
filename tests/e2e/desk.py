"""The people around a ticket on the real stack: the source system, an agent and the customer."""

import uuid
from typing import Any

import httpx

from shared.mongo import Collections, Database, Document
from tests.e2e.support import Keys, until


class Desk:
    """The people around a ticket: the source system, an agent, and the customer."""

    def __init__(
        self, intake: httpx.AsyncClient, keys: Keys, database: Database, customer_key: str
    ) -> None:
        self.intake, self.keys, self.database = intake, keys, database
        self.customer_key = customer_key

    async def report(self, customer_id: str, category: str, **fields: Any) -> str:
        body = {
            "customer_id": customer_id,
            "category": category,
            "summary": fields.pop("summary", f"A {category} problem"),
            "call_ids": [f"call-{uuid.uuid4().hex[:12]}"],
            "reporting_system": "crm",
            **fields,
        }
        headers = {"X-API-Key": self.keys.system, "Idempotency-Key": str(uuid.uuid4())}
        response = await self.intake.post("/v1/tickets", json=body, headers=headers)
        assert response.status_code == 202, response.text
        ticket_id: str = response.json()["ticket_id"]
        await self.ticket_reaches(ticket_id, "triaged")
        return ticket_id

    async def agent(self, ticket_id: str, action: str, body: dict[str, Any]) -> httpx.Response:
        return await self._post(ticket_id, action, body, self.keys.agent)

    async def system(self, ticket_id: str, action: str, body: dict[str, Any]) -> httpx.Response:
        return await self._post(ticket_id, action, body, self.keys.system)

    async def customer(self, ticket_id: str, action: str, body: dict[str, Any]) -> httpx.Response:
        return await self._post(ticket_id, action, body, self.customer_key)

    async def _post(
        self, ticket_id: str, action: str, body: dict[str, Any], key: str
    ) -> httpx.Response:
        return await self.intake.post(
            f"/v1/tickets/{ticket_id}/{action}", json=body, headers={"X-API-Key": key}
        )

    async def ticket_reaches(self, ticket_id: str, status: str) -> Document:
        async def reached() -> Document | None:
            document = await self.database[Collections.TICKETS].find_one({"_id": ticket_id})
            done = document and document["status"] == status and not document["outbox_pending"]
            return document if done else None

        return await until(reached, f"ticket {ticket_id} {status}")

    async def event_types(self, ticket_id: str) -> list[str]:
        document = await self.database[Collections.TICKETS].find_one({"_id": ticket_id})
        return [event["type"] for event in (document or {}).get("events", [])]
