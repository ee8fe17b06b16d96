"""Secrets never reach the logs: after a story that uses every kind of secret the platform
holds — API keys of each role, a wrong key, a webhook signing secret (also in a refused
request), the SMS gateway's token — no service's log file holds any of them."""

import secrets
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from infra.services import Platform
from tests.e2e.conftest import SMS_GATEWAY_TOKEN
from tests.e2e.desk import Desk
from tests.e2e.support import Keys, SmsGateway, WebhookSink, until

pytestmark = pytest.mark.e2e

PHONE = "+34910000777"


def service_logs(log_dir: Path) -> dict[str, str]:
    """Every file the platform's services wrote their logs to, by name."""
    return {p.name: p.read_text(errors="replace") for p in log_dir.rglob("*") if p.is_file()}


async def test_no_secret_set_in_the_story_appears_in_any_service_log(
    platform: Platform,
    intake: httpx.AsyncClient,
    keys: Keys,
    sms_gateway: SmsGateway,
    webhook_sink: WebhookSink,
    desk_for: Callable[[str], Awaitable[Desk]],
) -> None:
    customer_id = f"cust-{uuid.uuid4().hex[:10]}"
    webhook_secret = f"whsec_{secrets.token_urlsafe(24)}"
    wrong_key = f"sb_{secrets.token_urlsafe(32)}"
    agent = {"X-API-Key": keys.agent}
    contact = {
        "contact_id": "noc",
        "name": "NOC",
        "phone": PHONE,
        "webhook": {"url": webhook_sink.url, "secret": webhook_secret},
    }
    entry = {"name": "Secretive S.A.", "contacts": [contact]}

    refused = {**entry, "contacts": [{**contact, "email": "not an address"}]}
    response = await intake.put(f"/v1/customers/{customer_id}", json=refused, headers=agent)
    assert response.status_code == 422, response.text
    assert webhook_secret not in response.text
    response = await intake.put(f"/v1/customers/{customer_id}", json=entry, headers=agent)
    assert response.status_code == 200, response.text
    assert webhook_secret not in response.text
    assert (await intake.get("/v1/incidents", headers={"X-API-Key": wrong_key})).status_code == 401

    desk = await desk_for(customer_id)
    webhook_sink.statuses.append(500)  # one failed delivery, logged, then the retry
    ticket_id = await desk.report(customer_id, "call_quality")
    own = await intake.get(f"/v1/tickets/{ticket_id}", headers={"X-API-Key": desk.customer_key})
    assert own.status_code == 200, own.text
    outage = {
        "title": "Calls fail",
        "severity": "major",
        "scope": {"customer_ids": [customer_id]},
        "message": "Calls fail; we are on it.",
    }
    declared = await intake.post(
        "/v1/incidents",
        json=outage,
        headers={"X-API-Key": keys.system, "Idempotency-Key": f"secrets-{customer_id}"},
    )
    assert declared.status_code == 202, declared.text

    async def signed_and_texted() -> bool:
        return len(webhook_sink.for_ticket(ticket_id)) >= 2 and bool(sms_gateway.texts_to(PHONE))

    await until(signed_and_texted, "a webhook retried and delivered, and an SMS sent")
    (text, *_) = sms_gateway.texts_to(PHONE)
    assert SMS_GATEWAY_TOKEN in text.headers.get("Authorization", ""), "the token was used"

    set_in_the_story = {
        "system key": keys.system,
        "agent key": keys.agent,
        "customer key": desk.customer_key,
        "wrong key": wrong_key,
        "webhook secret": webhook_secret,
        "SMS gateway token": SMS_GATEWAY_TOKEN,
    }
    logs = service_logs(platform.log_dir)
    assert set(logs) >= {"intake.log", "workflow.log", "notifier.log"}
    # FastStream logs each message handled: the grep reads what was written during the story.
    assert all("Processed" in logs[name] for name in ("workflow.log", "notifier.log"))
    leaks = [
        f"{what} in {name}"
        for name, text in logs.items()
        for what, value in set_in_the_story.items()
        if value in text
    ]
    assert leaks == []
