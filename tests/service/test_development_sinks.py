"""The development sinks `up` starts: a real SMTP server and an SMS-gateway stand-in."""

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from infra.manage import main as manage
from infra.processes import free_ports
from infra.sinks import DevelopmentSinks, MessageLog, SinkAddresses, read_messages

NOTIFICATION_ID = "NTF-0123456789ABCDEFGHJKMNPQRS"
SMS = {"to": "+34911234567", "from": "Switchboard", "text": "Outage in Madrid", "reference": "n-1"}
HEADERS = {"Authorization": "Bearer development-sms-token", "Idempotency-Key": "n-1"}


@pytest.fixture
async def sinks(tmp_path: Path) -> AsyncIterator[DevelopmentSinks]:
    smtp_port, http_port = free_ports(2)
    addresses = SinkAddresses("127.0.0.1", smtp_port, f"http://127.0.0.1:{http_port}/v1/messages")
    running = DevelopmentSinks(tmp_path / "sinks", addresses)
    await running.start_mail()
    await running.start_sms()
    try:
        yield running
    finally:
        await running.stop()


def email(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Switchboard Support <support@switchboard.example>"
    message["To"] = "noc@acme.example"
    message["Subject"] = subject
    message["Message-ID"] = f"<{NOTIFICATION_ID}@switchboard.example>"
    message["X-Switchboard-Notification-Id"] = NOTIFICATION_ID
    message.set_content("Calls to Madrid fail since 09:00 UTC.\nWe are on it.")
    return message


async def test_the_mail_sink_keeps_an_email_sent_over_smtp(
    sinks: DevelopmentSinks, tmp_path: Path
) -> None:
    where = sinks.addresses

    await aiosmtplib.send(email("Outage in Madrid"), hostname=where.smtp_host, port=where.smtp_port)

    [kept] = read_messages(tmp_path / "sinks" / "email.jsonl")
    assert kept["rcpt_to"] == ["noc@acme.example"]
    assert kept["subject"] == "Outage in Madrid"
    assert kept["notification_id"] == NOTIFICATION_ID
    assert kept["body"] == "Calls to Madrid fail since 09:00 UTC.\nWe are on it."


async def test_the_sms_gateway_accepts_a_message_once_per_idempotency_key(
    sinks: DevelopmentSinks, tmp_path: Path
) -> None:
    async with httpx.AsyncClient() as client:
        first = await client.post(sinks.addresses.sms_url, json=SMS, headers=HEADERS)
        retry = await client.post(sinks.addresses.sms_url, json=SMS, headers=HEADERS)
        listed = await client.get(sinks.addresses.sms_url)

    assert first.status_code == 202
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    [kept] = read_messages(tmp_path / "sinks" / "sms.jsonl")
    assert kept | {"received_at": None} == {
        "received_at": None,
        "id": first.json()["id"],
        "idempotency_key": "n-1",
        **SMS,
    }
    assert listed.json()["messages"] == [kept]


@pytest.mark.parametrize(
    ("headers", "body", "status", "error"),
    [
        ({}, SMS, 401, "a bearer token is required"),
        (HEADERS, {**SMS, "to": ""}, 422, "to must be a non-empty string"),
        (HEADERS, {"from": "Switchboard", "to": "+34911234567"}, 422, "text must be"),
    ],
    ids=["no token", "empty number", "no text"],
)
async def test_the_sms_gateway_refuses_what_a_gateway_would(
    sinks: DevelopmentSinks, headers: dict[str, str], body: object, status: int, error: str
) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(sinks.addresses.sms_url, json=body, headers=headers)

    assert answer.status_code == status
    assert error in answer.json()["error"]
    assert sinks.sms.log.recent() == []


async def test_the_sinks_command_and_page_show_what_arrived(
    sinks: DevelopmentSinks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = sinks.addresses
    await aiosmtplib.send(email("Outage in Madrid"), hostname=where.smtp_host, port=where.smtp_port)
    async with httpx.AsyncClient() as client:
        await client.post(where.sms_url, json=SMS, headers=HEADERS)
        page = await client.get(where.sms_url.removesuffix("v1/messages"))

    assert manage(["--state-dir", str(tmp_path), "sinks"]) == 0

    out = capsys.readouterr().out
    for shown in (out, page.text):
        assert "to noc@acme.example: Outage in Madrid" in shown
        assert "Calls to Madrid fail since 09:00 UTC." in shown
        assert "to +34911234567 from Switchboard" in shown


def test_a_message_log_keeps_its_last_messages_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "sms.jsonl"
    log = MessageLog(path, keep=3)
    for number in range(8):
        log.append({"n": number})

    assert [m["n"] for m in MessageLog(path, keep=3).recent()] == [5, 6, 7]
    assert len(path.read_text().splitlines()) <= 6
