"""Secrets never reach the logs: after a story that uses every kind of secret the platform
holds — API keys of each role, a wrong key, a webhook signing secret (also in a refused
request), the SMS gateway's token, the SMTP password, the console's session secret and a
session cookie signed with it, the OTLP collector's token — no service's log file holds any
of them, though every service logs at DEBUG."""

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pymongo import AsyncMongoClient

from infra.processes import LOOPBACK, free_port
from infra.services import Platform
from services.intake.apikeys import issue_key
from services.intake.console.sessions import COOKIE
from services.intake.settings import IntakeSettings
from shared.mongo import Database, Document
from shared.vocabulary import Role
from tests.e2e.conftest import MAIL_FROM, issue_keys, running_platform
from tests.e2e.desk import Desk
from tests.e2e.otlp import SpanSink
from tests.e2e.support import Endpoints, Keys, Mailbox, SmsGateway, WebhookSink, until

pytestmark = [
    pytest.mark.e2e,
    # The test's SMTP server takes the login without TLS, on loopback, on purpose.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

PHONE = "+34910000777"
EMAIL = "noc@secretive.example"
SMTP_USERNAME = "switchboard-mailer"
SMTP_PASSWORD = f"smtp-{secrets.token_urlsafe(24)}"
SMS_GATEWAY_TOKEN = f"sms-{secrets.token_urlsafe(24)}"
CONSOLE_SESSION_SECRET = f"console-{secrets.token_urlsafe(32)}"
OTLP_TOKEN = f"otlp-{secrets.token_urlsafe(24)}"


def service_logs(log_dir: Path) -> dict[str, str]:
    """Every file the platform's services wrote their logs to, by name."""
    return {p.name: p.read_text(errors="replace") for p in log_dir.rglob("*") if p.is_file()}


class SmtpLogin:
    """aiosmtpd's authenticator: only the notifier's username and password get in."""

    def __init__(self) -> None:
        self.accepted = 0

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        granted = isinstance(auth, LoginPassword) and auth == LoginPassword(
            SMTP_USERNAME.encode(), SMTP_PASSWORD.encode()
        )
        self.accepted += granted
        return AuthResult(success=granted)


@pytest.fixture(scope="module")
def smtp_login() -> SmtpLogin:
    return SmtpLogin()


@pytest.fixture(scope="module")
def guarded_mailbox(smtp_login: SmtpLogin) -> Iterator[Mailbox]:
    """A real SMTP server that takes mail only after AUTH with the notifier's password."""
    box = Mailbox(host=LOOPBACK, port=free_port())
    controller = Controller(
        box,
        hostname=box.host,
        port=box.port,
        authenticator=smtp_login,
        auth_required=True,
        auth_require_tls=False,  # plain text on loopback; the password is still the secret
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def guarded_database() -> str:
    return f"e2e_secrets_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def guarded_platform(
    own_endpoints: Endpoints,
    guarded_database: str,
    guarded_mailbox: Mailbox,
    sms_gateway: SmsGateway,
    span_sink: SpanSink,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    """The three services with every secret setting set, logging at DEBUG."""
    env = {
        "SWITCHBOARD_LOG_LEVEL": "DEBUG",
        "SWITCHBOARD_SMTP_HOST": guarded_mailbox.host,
        "SWITCHBOARD_SMTP_PORT": str(guarded_mailbox.port),
        "SWITCHBOARD_SMTP_USERNAME": SMTP_USERNAME,
        "SWITCHBOARD_SMTP_PASSWORD": SMTP_PASSWORD,
        "SWITCHBOARD_MAIL_FROM": MAIL_FROM,
        "SWITCHBOARD_SMS_GATEWAY_URL": sms_gateway.url,
        "SWITCHBOARD_SMS_GATEWAY_TOKEN": SMS_GATEWAY_TOKEN,
        "SWITCHBOARD_CONSOLE_SESSION_SECRET": CONSOLE_SESSION_SECRET,
        "SWITCHBOARD_OTLP_ENDPOINT": span_sink.endpoint,
        # The OTLP exporter's own variable: how a collector's credentials are given.
        "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer {OTLP_TOKEN}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    log_dir = tmp_path_factory.mktemp("secrets-logs")
    with running_platform(own_endpoints, log_dir, guarded_database, env) as running:
        yield running


@pytest.fixture(scope="module")
def guarded_settings(own_endpoints: Endpoints, guarded_database: str) -> IntakeSettings:
    return IntakeSettings(mongo_url=own_endpoints.mongo_url, mongo_database=guarded_database)


@pytest.fixture(scope="module")
async def guarded_keys(guarded_settings: IntakeSettings) -> Keys:
    return await issue_keys(guarded_settings)


@pytest.fixture
async def guarded_intake(guarded_platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=guarded_platform.intake_url, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="module")
async def guarded_db(own_endpoints: Endpoints, guarded_database: str) -> AsyncIterator[Database]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(own_endpoints.mongo_url, tz_aware=True)
    yield client[guarded_database]
    await client.close()


async def signed_in_to_the_console(intake: httpx.AsyncClient, agent_key: str) -> str:
    """The session cookie a browser gets for an agent's key; proven to open the console."""
    signed_in = await intake.post("/console/session", headers={"X-API-Key": agent_key})
    assert signed_in.status_code == 204, signed_in.text
    cookie = signed_in.cookies[COOKIE]
    intake.cookies.clear()
    session = await intake.get("/console/session", headers={"Cookie": f"{COOKIE}={cookie}"})
    assert session.status_code == 200, session.text
    return cookie


async def test_no_secret_set_in_the_story_appears_in_any_service_log(
    guarded_platform: Platform,
    guarded_intake: httpx.AsyncClient,
    guarded_keys: Keys,
    guarded_db: Database,
    guarded_settings: IntakeSettings,
    guarded_mailbox: Mailbox,
    smtp_login: SmtpLogin,
    sms_gateway: SmsGateway,
    span_sink: SpanSink,
    webhook_sink: WebhookSink,
) -> None:
    intake, keys = guarded_intake, guarded_keys
    customer_id = f"cust-{uuid.uuid4().hex[:10]}"
    customer_key = await issue_key(guarded_settings, customer_id, Role.CUSTOMER, customer_id)
    webhook_secret = f"whsec_{secrets.token_urlsafe(24)}"
    wrong_key = f"sb_{secrets.token_urlsafe(32)}"
    agent = {"X-API-Key": keys.agent}
    contact = {
        "contact_id": "noc",
        "name": "NOC",
        "email": EMAIL,
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
    session_cookie = await signed_in_to_the_console(intake, keys.agent)

    desk = Desk(intake, keys, guarded_db, customer_key)
    webhook_sink.statuses.append(500)  # one failed delivery, logged, then the retry
    ticket_id = await desk.report(customer_id, "call_quality")
    own = await intake.get(f"/v1/tickets/{ticket_id}", headers={"X-API-Key": customer_key})
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

    async def every_secret_used() -> bool:
        return (
            len(webhook_sink.for_ticket(ticket_id)) >= 2
            and bool(sms_gateway.texts_to(PHONE))
            and bool(guarded_mailbox.to(EMAIL))
            and f"Bearer {OTLP_TOKEN}" in span_sink.authorizations()
        )

    await until(every_secret_used, "a webhook retried, an SMS, an email and traces exported")
    (text, *_) = sms_gateway.texts_to(PHONE)
    assert text.headers.get("Authorization") == f"Bearer {SMS_GATEWAY_TOKEN}"
    assert smtp_login.accepted >= 1  # the email went out through a login with the password

    set_in_the_story = {
        "system key": keys.system,
        "agent key": keys.agent,
        "customer key": customer_key,
        "wrong key": wrong_key,
        "webhook secret": webhook_secret,
        "SMS gateway token": SMS_GATEWAY_TOKEN,
        "SMTP password": SMTP_PASSWORD,
        "console session secret": CONSOLE_SESSION_SECRET,
        "console session cookie": session_cookie,
        "OTLP collector token": OTLP_TOKEN,
    }
    logs = service_logs(guarded_platform.log_dir)
    assert set(logs) >= {"intake.log", "workflow.log", "notifier.log"}
    # The grep reads what was written during the story: each service logged its work.
    assert all("Processed" in logs[name] for name in ("workflow.log", "notifier.log"))
    assert ticket_id in logs["workflow.log"]  # at DEBUG, each command applied is a line
    leaks = [
        f"{what} in {name}"
        for name, text in logs.items()
        for what, value in set_in_the_story.items()
        if value in text
    ]
    assert leaks == []
