"""One ticket's trace, as an operator's OpenTelemetry collector receives it from every service."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from infra.services import Platform
from services.intake.settings import IntakeSettings
from tests.e2e.conftest import issue_keys, running_platform
from tests.e2e.otlp import ReceivedSpan, SpanSink
from tests.e2e.support import Endpoints, Keys, WebhookSink, until
from tests.e2e.test_walking_skeleton import new_customer, open_ticket, ticket_body

pytestmark = pytest.mark.e2e

SERVICES = {"switchboard-intake", "switchboard-workflow", "switchboard-notifier"}


@pytest.fixture(scope="module")
def traced_database() -> str:
    return f"e2e_traces_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def traced_platform(
    own_endpoints: Endpoints,
    traced_database: str,
    span_sink: SpanSink,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    """The three services exporting their spans to the test's own receiver."""
    env = {
        "SWITCHBOARD_LOG_LEVEL": "DEBUG",
        "SWITCHBOARD_OTLP_ENDPOINT": span_sink.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    log_dir = tmp_path_factory.mktemp("traced-logs")
    with running_platform(own_endpoints, log_dir, traced_database, env) as running:
        yield running


@pytest.fixture
async def traced_intake(traced_platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=traced_platform.intake_url, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="module")
async def traced_keys(own_endpoints: Endpoints, traced_database: str) -> Keys:
    return await issue_keys(
        IntakeSettings(mongo_url=own_endpoints.mongo_url, mongo_database=traced_database)
    )


def log_lines(log_file: Path) -> list[dict[str, object]]:
    lines = []
    for line in log_file.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


async def test_one_ticket_is_one_trace_from_the_post_through_the_workflow_to_the_webhook(
    traced_platform: Platform,
    traced_intake: httpx.AsyncClient,
    traced_keys: Keys,
    span_sink: SpanSink,
    webhook_sink: WebhookSink,
) -> None:
    customer_id = await new_customer(traced_intake, traced_keys, webhook_sink.url)
    response = await open_ticket(
        traced_intake, traced_keys, ticket_body(customer_id), str(uuid.uuid4())
    )
    assert response.status_code == 202, response.text
    ticket_id = response.json()["ticket_id"]

    async def the_post() -> ReceivedSpan | None:
        return next(
            (
                s
                for s in span_sink.spans()
                if s.name == "POST /v1/tickets"
                and s.attributes.get("http.response.status_code") == "202"
            ),
            None,
        )

    post = await until(the_post, "intake's span of the POST")
    trace_id = post.trace_id

    # A parent span ends, and so is exported, after its children: wait for every one.
    expected = {
        ("switchboard-workflow", "OpenTicket apply"),
        ("switchboard-notifier", "TicketOpened notify"),
        ("switchboard-notifier", "notification deliver"),
        ("switchboard-notifier", "webhook send"),
    }

    async def the_whole_trace() -> list[ReceivedSpan] | None:
        spans = [s for s in span_sink.spans() if s.trace_id == trace_id]
        names = {(s.service, s.name) for s in spans}
        ids = {s.span_id for s in spans}
        whole = all(s.parent_span_id in ids for s in spans if s.span_id != post.span_id)
        return spans if names >= expected and whole else None

    spans = await until(
        the_whole_trace, "the spans of intake, workflow and notifier in one tree of one trace"
    )
    assert {s.service for s in spans} >= SERVICES
    applied = next(s for s in spans if s.name == "OpenTicket apply")
    assert applied.attributes["switchboard.ticket_id"] == ticket_id
    webhook = next(s for s in spans if s.name == "webhook send")
    assert webhook.attributes["http.response.status_code"] == "200"

    workflow_log = traced_platform.services["workflow"].process.log_file
    lines = log_lines(workflow_log)
    assert any(
        line.get("ticket_id") == ticket_id and line.get("trace_id") == trace_id for line in lines
    ), "a workflow log line naming the ticket and its trace"
