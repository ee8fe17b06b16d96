"""Write the API documents from the code: `python -m docs.generate`.

`openapi.json` describes intake's HTTP API; `asyncapi.json` describes every Kafka topic the
three services publish or consume. Both are built from the real `create_app` composition roots
with default settings: `model_construct` skips the environment and `.env`, so the same code
gives the same bytes whoever runs the generator.
"""

import json
import warnings
from pathlib import Path
from typing import Any

from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from services.intake.app import create_app as create_intake
from services.intake.settings import IntakeSettings
from services.notifier.app import create_app as create_notifier
from services.notifier.settings import NotifierSettings
from services.workflow.app import create_app as create_workflow
from services.workflow.settings import WorkflowSettings
from shared.topics import ALL_TOPICS

DOCS = Path(__file__).parent
OPENAPI_PATH = DOCS / "openapi.json"
ASYNCAPI_PATH = DOCS / "asyncapi.json"

Document = dict[str, Any]


def render(document: Document) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def openapi() -> Document:
    spec: Document = create_intake(IntakeSettings.model_construct()).openapi()
    return spec


def asyncapi() -> Document:
    intake = create_intake(IntakeSettings.model_construct())
    brokers = {
        "intake": intake.state.broker,
        "workflow": _broker_of(create_workflow(WorkflowSettings.model_construct())),
        "notifier": _broker_of(create_notifier(NotifierSettings.model_construct())),
    }
    documents = {
        name: _service_document(broker, intake.version) for name, broker in brokers.items()
    }
    return merge_service_documents(documents)


def _broker_of(app: AsgiFastStream) -> KafkaBroker:
    broker = app.broker
    if not isinstance(broker, KafkaBroker):
        raise TypeError(f"expected the app to run one KafkaBroker, found {broker!r}")
    return broker


def _service_document(broker: KafkaBroker, version: str) -> Document:
    factory = AsyncAPI(broker, title="Switchboard", version=version, description=_description())
    with warnings.catch_warnings():
        # FastStream only warns when two channels of one service share a name and one is lost.
        warnings.simplefilter("error", RuntimeWarning)
        document: Document = factory.to_specification().to_jsonable()
    _payloads_of_one_message(document["components"].get("schemas", {}))
    return document


def _payloads_of_one_message(schemas: Document) -> None:
    """A subscriber that takes its messages in batches is documented with an array payload;
    each Kafka message is still one of its items, which is what the channel carries."""
    for name, schema in schemas.items():
        if name.endswith(":Message:Payload") and schema.get("type") == "array":
            schemas[name] = schema["items"] | {"title": schema["title"]}


def _description() -> str:
    topics = "\n".join(
        f"- `{t.name}`: {t.description} {t.partitions} partition(s), keyed by {t.key}."
        for t in ALL_TOPICS
    )
    return (
        "The Kafka topics of Switchboard: intake publishes ticket commands, workflow consumes "
        "them and publishes ticket events, notifier consumes the events and publishes what became "
        "of each notification, which workflow records on the ticket. Operations are named "
        "`<service>:<channel>`. Messages that can never be processed are published to the "
        "dead-letter topic with `x-dead-letter-*` headers naming the error and the source.\n\n"
        f"{topics}"
    )


def merge_service_documents(documents: dict[str, Document]) -> Document:
    """One AsyncAPI document from one document per service.

    Given several brokers at once, FastStream keys channels and operations by title, so intake's
    publisher and workflow's subscriber of the same topic overwrite each other and one operation
    is lost. Merging per-service documents keeps all of them: channels merge by name, and each
    operation is named after the service that performs it.
    """
    merged: Document = {section: {} for section in _MERGED_SECTIONS}
    for service, document in documents.items():
        rest = {k: v for k, v in document.items() if k not in _MERGED_SECTIONS}
        _merge_unique(merged, rest, "document")
        for name, channel in document["channels"].items():
            _merge_channel(merged["channels"], name, channel)
        for name, operation in document["operations"].items():
            merged["operations"][f"{service}:{name}"] = operation
        for section, entries in document["components"].items():
            _merge_unique(
                merged["components"].setdefault(section, {}), entries, f"components.{section}"
            )
        _merge_unique(merged["servers"], _cluster_servers(document["servers"]), "servers")
    return merged


_MERGED_SECTIONS = ("channels", "operations", "components", "servers")


def _cluster_servers(servers: Document) -> Document:
    # A server's description is its broker's, which names the service; the cluster is shared.
    return {
        name: {k: v for k, v in server.items() if k != "description"}
        for name, server in servers.items()
    }


def _merge_channel(channels: Document, name: str, channel: Document) -> None:
    known = channels.setdefault(name, channel | {"messages": {}})
    _merge_unique(
        {k: v for k, v in known.items() if k != "messages"},
        {k: v for k, v in channel.items() if k != "messages"},
        f"channel {name}",
    )
    _merge_unique(known["messages"], channel["messages"], f"channel {name} messages")


def _merge_unique(into: Document, entries: Document, where: str) -> None:
    """Add `entries`; a name both sides define must mean the same thing on both."""
    for key, value in entries.items():
        if key in into and into[key] != value:
            raise ValueError(f"{where}: services disagree about {key!r}")
        into[key] = value


def documents() -> dict[Path, str]:
    return {OPENAPI_PATH: render(openapi()), ASYNCAPI_PATH: render(asyncapi())}


def main() -> None:
    for path, text in documents().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(DOCS.parent)}")


if __name__ == "__main__":
    main()
