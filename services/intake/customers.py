"""The customer directory: who a customer is and how to reach them."""

from services.intake.schemas import CustomerRequest, CustomerView, WebhookContactView
from shared.mongo import Collections, Database, Document


def customer_view(document: Document) -> CustomerView:
    webhook = document.get("webhook")
    return CustomerView(
        customer_id=document["_id"],
        name=document["name"],
        webhook=WebhookContactView(url=webhook["url"], secret_set=bool(webhook.get("secret")))
        if webhook
        else None,
    )


class Customers:
    def __init__(self, database: Database) -> None:
        self._customers = database[Collections.CUSTOMERS]

    async def get(self, customer_id: str) -> CustomerView | None:
        document = await self._customers.find_one({"_id": customer_id})
        return customer_view(document) if document else None

    async def save(self, customer_id: str, request: CustomerRequest) -> CustomerView:
        fields = request.model_dump(mode="json")
        await self._customers.update_one({"_id": customer_id}, {"$set": fields}, upsert=True)
        return customer_view({"_id": customer_id, **fields})
