"""Operators hear of what needs them in their chat: an incident declared over the API is one
message naming it; a poison message on a topic becomes a dead-letter alert."""

import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from infra.services import Platform
from shared.topics import TICKET_COMMANDS
from tests.e2e.conftest import ALERT_WEBHOOK_PATH
from tests.e2e.support import ChatInbox, Endpoints, Keys, until

pytestmark = pytest.mark.e2e


async def test_an_incident_declared_over_the_api_is_one_alert_naming_it(
    intake: httpx.AsyncClient, keys: Keys, chat_inbox: ChatInbox
) -> None:
    title = f"Calls failing in region {uuid.uuid4().hex[:8]}"
    response = await intake.post(
        "/v1/incidents",
        json={
            "title": title,
            "severity": "major",
            "scope": {"regions": [f"r-{uuid.uuid4().hex[:8]}"]},
            "message": "Engineers are rerouting traffic.",
        },
        headers={"X-API-Key": keys.agent, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 202, response.text
    incident_id = response.json()["incident_id"]

    async def alerted() -> list[str]:
        return chat_inbox.naming(incident_id)

    [alert] = await until(alerted, "an alert naming the incident", within_s=20)
    assert f"Incident {incident_id} declared (major, by agent-desk): {title}." in alert


async def test_a_poison_message_becomes_a_dead_letter_alert_and_the_url_stays_out_of_logs(
    endpoints: Endpoints, platform: Platform, chat_inbox: ChatInbox
) -> None:
    key = f"TCK-POISON{uuid.uuid4().hex[:6].upper()}"
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(TICKET_COMMANDS.name, b"{not json", key=key.encode())
    finally:
        await producer.stop()

    async def alerted() -> list[str]:
        return chat_inbox.naming("Dead letter", f"key {key}")

    [alert] = await until(alerted, "a dead-letter alert for the poison message", within_s=20)
    assert f"from {TICKET_COMMANDS.name}" in alert
    assert "switchboard-workflow" in alert
    secret = ALERT_WEBHOOK_PATH.rsplit("/", 1)[1]
    logs = {p.name: p.read_text(errors="replace") for p in platform.log_dir.rglob("*.log")}
    assert logs, "no service log to check"
    assert not [name for name, text in logs.items() if secret in text]
