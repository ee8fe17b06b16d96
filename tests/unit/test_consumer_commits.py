"""Every consumer of every service commits an offset only after its handler returned: a
subscriber left on auto-commit would lose the message it was handling when its process died."""

import pytest
from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber.usecase import LogicSubscriber
from faststream.middlewares import AckPolicy

from services.notifier.app import create_app as create_notifier
from services.notifier.settings import NotifierSettings
from services.workflow.app import create_app as create_workflow
from services.workflow.settings import WorkflowSettings


def broker_of(app: AsgiFastStream) -> KafkaBroker:
    assert isinstance(app.broker, KafkaBroker)
    return app.broker


BROKERS = {
    "workflow": lambda: broker_of(create_workflow(WorkflowSettings.model_construct())),
    "notifier": lambda: broker_of(create_notifier(NotifierSettings.model_construct())),
}


@pytest.mark.parametrize("service", sorted(BROKERS))
def test_every_subscriber_commits_only_after_its_handler_returned(service: str) -> None:
    subscribers = BROKERS[service]().subscribers
    assert subscribers
    for subscriber in subscribers:
        assert isinstance(subscriber, LogicSubscriber)
        topics = subscriber.topic_names
        assert subscriber.ack_policy is AckPolicy.NACK_ON_ERROR, topics
        # What the Kafka consumer is built with: no commits behind the handler's back.
        assert subscriber._connection_args["enable_auto_commit"] is False, topics
