"""End-to-end fixtures: real Kafka, the real document store, the real services as processes."""

import os
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol, TypeVar

import httpx
import pytest
from aiosmtpd.controller import Controller
from pymongo import AsyncMongoClient

from infra.processes import LOOPBACK, free_port
from infra.services import Platform
from infra.stack import LocalStack, start_local_stack
from services.intake.apikeys import issue_key
from services.intake.settings import IntakeSettings
from shared.mongo import Database, Document
from shared.vocabulary import Role
from tests.containers import (
    Source,
    choose_infrastructure,
    docker_engine_problem,
    kafka_broker,
    mongo_replica_set,
)
from tests.e2e.desk import Desk
from tests.e2e.otlp import SpanSink, otlp_receiver
from tests.e2e.support import (
    ChatInbox,
    Endpoints,
    Keys,
    Mailbox,
    ReceivedRequest,
    SmsGateway,
    WebhookSink,
)

# Endpoints of servers someone else runs; without them the tests start their own.
KAFKA_ENV = "SWITCHBOARD_TEST_KAFKA_BOOTSTRAP"
MONGO_ENV = "SWITCHBOARD_TEST_MONGO_URL"

# Second-scale timings so retries and the relay show up within a test.
# Broadcast deliveries a notifier may have under way or unrecorded when it dies: what the
# outage test allows to reach a receiver twice. Well below the broadcast it kills.
BROADCAST_UNRECORDED_MAX = 64
FAST_TIMINGS = {
    "SWITCHBOARD_RELAY_INTERVAL_S": "0.5",
    "SWITCHBOARD_RELAY_GRACE_S": "1.0",
    "SWITCHBOARD_DELIVERY_BACKOFF_S": "0.2",
    "SWITCHBOARD_DELIVERY_POLL_S": "0.2",
    "SWITCHBOARD_DELIVERY_MAX_ATTEMPTS": "4",
    "SWITCHBOARD_SCHEDULER_INTERVAL_S": "0.3",
    "SWITCHBOARD_EMAIL_HOLD_S": "0",
    # A notifier killed by a test hands its work back within seconds, not the default half
    # minute: claims run out sooner.
    "SWITCHBOARD_DELIVERY_LEASE_S": "5",
    "SWITCHBOARD_BROADCAST_LEASE_S": "2",
    "SWITCHBOARD_BROADCAST_UNRECORDED_MAX": str(BROADCAST_UNRECORDED_MAX),
    "SWITCHBOARD_RULES_PATH": str(Path(__file__).with_name("fast_sla_rules.toml")),
    "SWITCHBOARD_LOG_LEVEL": "INFO",
}
MAIL_FROM = "Switchboard Support <support@switchboard.example>"
# The chat webhook's path holds its secret, as a Slack incoming webhook's does.
ALERT_WEBHOOK_PATH = f"/services/T0E2E/B0E2E/{uuid.uuid4().hex}"
SMS_GATEWAY_TOKEN = "e2e-sms-gateway-token"


@contextmanager
def servers(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Endpoints | None]:
    """Kafka and the store the suite runs on: started here (embedded, or containers where
    asked for), or None when the environment names servers someone else runs."""
    infrastructure = choose_infrastructure(
        os.environ, given=(KAFKA_ENV, MONGO_ENV), engine_answers=docker_engine_problem
    )
    if infrastructure.source is Source.GIVEN:
        yield None
    elif infrastructure.source is Source.ABSENT:
        pytest.skip(infrastructure.reason)
    elif infrastructure.source is Source.CONTAINERS:
        with kafka_broker() as kafka, mongo_replica_set() as mongo:
            yield Endpoints(kafka, mongo)
    else:
        stack: LocalStack = start_local_stack(tmp_path_factory.mktemp(name))
        try:
            yield Endpoints(stack.kafka_bootstrap, stack.mongo_url)
        finally:
            stack.stop()


@pytest.fixture(scope="session")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    with servers(tmp_path_factory, "stack") as started:
        yield started or Endpoints(os.environ[KAFKA_ENV], os.environ[MONGO_ENV])


@pytest.fixture(scope="module")
def own_endpoints(
    endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Endpoints]:
    """A Kafka and a store of the module's own, for a platform that must not share topics with
    the session's: the session's services would consume its commands and events as well, and
    answer them from their own database. Servers named in the environment are shared."""
    with servers(tmp_path_factory, "own-stack") as started:
        yield started or endpoints


@pytest.fixture(scope="module")
def span_sink() -> Iterator[SpanSink]:
    """An OTLP/HTTP receiver of the module's own, for a platform exporting its spans."""
    with otlp_receiver() as sink:
        yield sink


@contextmanager
def running_platform(
    endpoints: Endpoints, log_dir: Path, database: str, env: dict[str, str]
) -> Iterator[Platform]:
    """The three services on these servers, with the suite's fast timings and `env`."""
    running = Platform(
        kafka_bootstrap=endpoints.kafka_bootstrap,
        mongo_url=endpoints.mongo_url,
        log_dir=log_dir,
        database=database,
        extra_env={**FAST_TIMINGS, **env},
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


async def issue_keys(settings: IntakeSettings) -> Keys:
    """A source system's key and an agent's, issued into the settings' database."""
    return Keys(
        system=await issue_key(settings, "crm", Role.SYSTEM, None),
        agent=await issue_key(settings, "agent-desk", Role.AGENT, None),
    )


@pytest.fixture(scope="session")
def database_name() -> str:
    return f"e2e_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) the notifier sends every email to."""
    box = Mailbox(host=LOOPBACK, port=free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def sms_gateway() -> Iterator[SmsGateway]:
    """A real HTTP server standing in for the SMS gateway the notifier posts texts to."""
    with recording_server("/v1/messages", SmsGateway) as gateway:
        yield gateway


@pytest.fixture(scope="session")
def chat_inbox() -> Iterator[ChatInbox]:
    """A real HTTP server standing in for the operators' chat webhook."""
    with recording_server(ALERT_WEBHOOK_PATH, ChatInbox) as inbox:
        yield inbox


@pytest.fixture(scope="session")
def platform(
    endpoints: Endpoints,
    database_name: str,
    mailbox: Mailbox,
    sms_gateway: SmsGateway,
    chat_inbox: ChatInbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    channels = {
        "SWITCHBOARD_ALERT_WEBHOOK_URL": chat_inbox.url,
        "SWITCHBOARD_ALERT_INTERVAL_S": "0.5",
        "SWITCHBOARD_SMTP_HOST": mailbox.host,
        "SWITCHBOARD_SMTP_PORT": str(mailbox.port),
        "SWITCHBOARD_MAIL_FROM": MAIL_FROM,
        "SWITCHBOARD_SMS_GATEWAY_URL": sms_gateway.url,
        "SWITCHBOARD_SMS_GATEWAY_TOKEN": SMS_GATEWAY_TOKEN,
    }
    log_dir = tmp_path_factory.mktemp("logs")
    with running_platform(endpoints, log_dir, database_name, channels) as running:
        yield running


@pytest.fixture(scope="session")
def intake_settings(endpoints: Endpoints, database_name: str) -> IntakeSettings:
    return IntakeSettings(mongo_url=endpoints.mongo_url, mongo_database=database_name)


@pytest.fixture(scope="session")
async def keys(intake_settings: IntakeSettings) -> Keys:
    return await issue_keys(intake_settings)


@pytest.fixture(scope="session")
async def database(endpoints: Endpoints, database_name: str) -> AsyncIterator[Database]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(endpoints.mongo_url, tz_aware=True)
    yield client[database_name]
    await client.close()


@pytest.fixture
async def intake(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.intake_url, timeout=30.0) as client:
        yield client


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    with recording_server("/hooks/switchboard", WebhookSink) as sink:
        yield sink


class Recorder(Protocol):
    def answer(self, request: ReceivedRequest) -> int: ...


R = TypeVar("R", bound=Recorder)


@contextmanager
def recording_server(path: str, recorder_at: Callable[[str], R]) -> Iterator[R]:
    """A real HTTP server on a free port; the recorder made for its URL answers every POST."""
    server = ThreadingHTTPServer((LOOPBACK, 0), BaseHTTPRequestHandler)
    recorder = recorder_at(f"http://{LOOPBACK}:{server.server_address[1]}{path}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:
                return  # the sender died mid-request: nothing was received
            status = recorder.answer(ReceivedRequest(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def customer_key(intake_settings: IntakeSettings) -> Callable[[str], Awaitable[str]]:
    """Issues an API key that acts for one customer."""

    async def issue(customer_id: str) -> str:
        return await issue_key(intake_settings, customer_id, Role.CUSTOMER, customer_id)

    return issue


@pytest.fixture
async def desk_for(
    intake: httpx.AsyncClient,
    keys: Keys,
    database: Database,
    customer_key: Callable[[str], Awaitable[str]],
) -> Callable[[str], Awaitable[Desk]]:
    """A desk for one customer: their key, an agent's, the source system's."""

    async def make(customer_id: str) -> Desk:
        return Desk(intake, keys, database, await customer_key(customer_id))

    return make
