"""The workflow and the notifier serve their own AsyncAPI document at /asyncapi."""

from collections.abc import Callable

import httpx
import pytest
from faststream.asgi import AsgiFastStream

from services.notifier.app import create_app as create_notifier
from services.notifier.settings import NotifierSettings
from services.workflow.app import create_app as create_workflow
from services.workflow.settings import WorkflowSettings
from shared.topics import (
    DEAD_LETTER,
    INCIDENT_BROADCASTS,
    NOTIFICATION_EVENTS,
    TICKET_COMMANDS,
    TICKET_EVENTS,
    Topic,
)


def workflow() -> AsgiFastStream:
    return create_workflow(WorkflowSettings.model_construct())


def notifier() -> AsgiFastStream:
    return create_notifier(NotifierSettings.model_construct())


async def get(app: AsgiFastStream, path: str) -> httpx.Response:
    # Routes answer without the broker started: no Kafka or store is needed to read the docs.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return await client.get(path)


def channel_addresses(document: dict[str, object]) -> set[str]:
    channels = document["channels"]
    assert isinstance(channels, dict)
    return {channel["address"] for channel in channels.values()}


@pytest.mark.parametrize(
    ("build", "title", "topics"),
    [
        (workflow, "Switchboard workflow", {TICKET_COMMANDS, TICKET_EVENTS, NOTIFICATION_EVENTS}),
        (notifier, "Switchboard notifier", {TICKET_EVENTS, NOTIFICATION_EVENTS}),
    ],
)
async def test_a_service_serves_the_topics_it_uses_at_asyncapi(
    build: Callable[[], AsgiFastStream], title: str, topics: set[Topic]
) -> None:
    response = await get(build(), "/asyncapi")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["info"]["title"] == title
    names = {topic.name for topic in topics}
    assert names <= channel_addresses(document)


async def test_the_notifier_documents_its_broadcast_chunks_dead_letters_and_probes() -> None:
    addresses = channel_addresses((await get(notifier(), "/asyncapi")).json())

    assert {INCIDENT_BROADCASTS.name, DEAD_LETTER.name, "/healthz", "/readyz"} <= addresses


async def test_the_workflow_serves_a_readable_page_at_asyncapi_html() -> None:
    response = await get(workflow(), "/asyncapi.html")

    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "asyncapi" in response.text.lower()
