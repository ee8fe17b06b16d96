"""Every Kafka topic Switchboard uses, with its partitions and key; no other module names one."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    partitions: int
    key: str
    description: str


TICKET_COMMANDS = Topic(
    name="switchboard.ticket-commands.v1",
    partitions=6,
    key="ticket id",
    description="Requests to change a ticket (OpenTicket, ...), published by intake.",
)
TICKET_EVENTS = Topic(
    name="switchboard.ticket-events.v1",
    partitions=6,
    key="ticket id",
    description="Facts about tickets in the order they happened, published by workflow.",
)
DEVELOPMENT_EVENTS = Topic(
    name="switchboard.development-events.v1",
    partitions=3,
    key="ticket id",
    description=(
        "Development tickets opened for support tickets and their progress, for a development"
        " tracker integration; the same events are on the ticket events topic too."
    ),
)
NOTIFICATION_EVENTS = Topic(
    name="switchboard.notification-events.v1",
    partitions=6,
    key="ticket id, or incident id for a broadcast",
    description=(
        "What became of each notification: handed to its channel, delivered, or given up;"
        " published by notifier, recorded on the ticket's timeline by workflow."
    ),
)
INCIDENT_COMMANDS = Topic(
    name="switchboard.incident-commands.v1",
    partitions=3,
    key="incident id",
    description=(
        "Requests to declare, update or resolve an incident: the operators' through intake,"
        " and the workflow's own when it detects a burst of similar tickets."
    ),
)
INCIDENT_EVENTS = Topic(
    name="switchboard.incident-events.v1",
    partitions=3,
    key="incident id",
    description=(
        "Outages declared (by an operator or detected automatically), updated and resolved,"
        " published by workflow; operators follow this topic for alerts."
    ),
)
INCIDENT_BROADCASTS = Topic(
    name="switchboard.incident-broadcasts.v1",
    partitions=6,
    key="incident event id and chunk number",
    description=(
        "The notifier's broadcast work queue: each incident event's affected customers in"
        " chunks, spread over partitions so every notifier instance takes a share."
    ),
)
DEAD_LETTER = Topic(
    name="switchboard.dead-letter.v1",
    partitions=1,
    key="original key",
    description="Messages that can never be processed, with the error and the original payload.",
)

ALL_TOPICS: tuple[Topic, ...] = (
    TICKET_COMMANDS,
    TICKET_EVENTS,
    DEVELOPMENT_EVENTS,
    NOTIFICATION_EVENTS,
    INCIDENT_COMMANDS,
    INCIDENT_EVENTS,
    INCIDENT_BROADCASTS,
    DEAD_LETTER,
)


class DeadLetterHeader:
    """Headers a dead-lettered message carries so operators can see why and replay it."""

    ERROR = "x-dead-letter-error"
    SOURCE_TOPIC = "x-dead-letter-source-topic"
    SOURCE_PARTITION = "x-dead-letter-source-partition"
    SOURCE_OFFSET = "x-dead-letter-source-offset"
    CONSUMER_GROUP = "x-dead-letter-consumer-group"
    ATTEMPTS = "x-dead-letter-attempts"
