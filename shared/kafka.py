"""The Kafka broker factory: safe producer settings, commit-after-work, and the dead-letter path."""

import asyncio
import contextlib
import copy
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream._internal.context.repository import ContextRepo
from faststream._internal.middlewares import BaseMiddleware
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.publisher import DefaultPublisher
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure

from shared.errors import DomainError
from shared.metrics import dead_letters_counter, messaging_middleware
from shared.producers import renew_producer_on_fatal_errors
from shared.settings import ServiceSettings
from shared.topics import DEAD_LETTER, DeadLetterHeader, Topic
from shared.tracing import Tracing

log = logging.getLogger("switchboard.kafka")

# Infrastructure that is down now but will come back: the message is fine, so it is never
# dead-lettered; the offset stays uncommitted and the message is redelivered.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (ConnectionFailure, KafkaError)
# Retrying these cannot help: the payload or the request itself is wrong.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (ValidationError, DomainError)


class DeadLetterPolicy:
    """A FastStream middleware factory: bounded retries, then the dead-letter topic.

    Unknown errors are retried `attempts` times in place; permanent ones go straight to the
    dead-letter topic; transient ones are re-raised so the offset is not committed.
    """

    def __init__(self, consumer_group: str, attempts: int = 3, backoff_s: float = 0.2) -> None:
        self.consumer_group = consumer_group
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.publisher: DefaultPublisher | None = None
        self.counted: Counter | None = None  # set by `create_broker` when metrics are on

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> BaseMiddleware[Any, Any]:
        return _DeadLetterMiddleware(msg, context=context, policy=self)

    async def dead_letter(self, msg: StreamMessage[Any], error: BaseException, tries: int) -> None:
        if self.publisher is None:
            raise RuntimeError("DeadLetterPolicy is not bound to a broker")
        record, body = msg.raw_message, msg.body
        if isinstance(record, tuple | list):  # a batch of one, split off a batch that failed
            (record,) = record
        if isinstance(body, list):  # the body of a batch of one
            (body,) = body
        headers = {
            DeadLetterHeader.ERROR: describe_error(error)[:4000],
            DeadLetterHeader.SOURCE_TOPIC: str(getattr(record, "topic", "")),
            DeadLetterHeader.SOURCE_PARTITION: str(getattr(record, "partition", "")),
            DeadLetterHeader.SOURCE_OFFSET: str(getattr(record, "offset", "")),
            DeadLetterHeader.CONSUMER_GROUP: self.consumer_group,
            DeadLetterHeader.ATTEMPTS: str(tries),
        }
        await self.publisher.publish(body, key=getattr(record, "key", None), headers=headers)
        if self.counted is not None:
            self.counted.labels(headers[DeadLetterHeader.SOURCE_TOPIC]).inc()
        log.warning(
            "message dead-lettered",
            extra={"error": headers[DeadLetterHeader.ERROR], "source": headers},
        )


def describe_error(error: BaseException) -> str:
    """One readable line per problem, naming the field for validation errors."""
    if isinstance(error, ValidationError):
        problems = (
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        return "invalid message: " + "; ".join(problems)
    return f"{type(error).__name__}: {error}"


class _DeadLetterMiddleware(BaseMiddleware[Any, Any]):
    def __init__(self, msg: Any, /, *, context: ContextRepo, policy: DeadLetterPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        records = msg.raw_message  # a batch is a tuple (a list in the in-memory test broker)
        if not isinstance(records, tuple | list) or len(records) == 1:
            return await self._one(call_next, msg)
        try:
            return await call_next(msg)
        except TRANSIENT_ERRORS:
            await asyncio.sleep(self.policy.backoff_s * 5)
            raise
        except Exception:
            # One bad message must not hold up or dead-letter the others: the batch is done
            # again message by message (handlers are idempotent), each under the policy.
            log.warning("batch failed; handling its messages one by one", exc_info=True)
            for single in split_batch(msg):
                await self._one(call_next, single)
        return None

    async def _one(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        for attempt in range(1, self.policy.attempts + 1):
            try:
                return await call_next(msg)
            except PERMANENT_ERRORS as error:
                await self.policy.dead_letter(msg, error, attempt)
                return None
            except TRANSIENT_ERRORS:
                await asyncio.sleep(self.policy.backoff_s * 5)
                raise
            except Exception as error:
                if attempt == self.policy.attempts:
                    await self.policy.dead_letter(msg, error, attempt)
                    return None
                log.warning("handler failed, retrying", extra={"attempt": attempt}, exc_info=True)
                await asyncio.sleep(self.policy.backoff_s * 2 ** (attempt - 1))
        return None


def split_batch(msg: StreamMessage[Any]) -> list[StreamMessage[Any]]:
    """A batch message as batches of one message each, in order."""
    singles = []
    for index, record in enumerate(msg.raw_message):
        single = copy.copy(msg)  # a copy decodes its own body
        single.raw_message = (record,)
        single.body = [msg.body[index]]
        single.batch_headers = msg.batch_headers[index : index + 1]
        singles.append(single)
    return singles


# Commit an offset only after its handler returned. Set on the broker and on every router: a
# subscriber takes its policy from the router it is declared on, when it is declared, and a
# router without one would consume with auto-commit (at most once), whatever the broker says.
COMMIT_AFTER_WORK = AckPolicy.NACK_ON_ERROR


# How soon a consumer that died is given up and its partitions handed to the others (or to
# itself, restarted): a restarted instance waits in the rebalance until the session of its
# dead self expires. aiokafka's 10 s made delivery resume 7-10 s after a crash in the fault
# tests; heartbeats go out every 2 s from the consumer's own task, so a busy handler does not
# look dead.
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 2000


def consumer_router() -> KafkaRouter:
    """A router whose subscribers commit only after their handler saved its work."""
    return KafkaRouter(ack_policy=COMMIT_AFTER_WORK)


def create_broker(
    settings: ServiceSettings,
    client_id: str,
    dead_letter: DeadLetterPolicy | None = None,
    description: str | None = None,
    registry: CollectorRegistry | None = None,
    tracing: Tracing | None = None,
) -> KafkaBroker:
    """Idempotent producer with acks=all; consumers commit only after the handler returned.

    With a `registry`, messages consumed and published are measured by FastStream's
    Prometheus middleware (outermost: a message is counted once, however often the
    dead-letter policy retries it) and dead letters are counted. With `tracing` on, FastStream's
    telemetry middleware puts the trace context into the headers of every message published
    and continues it in a span for every message consumed (one span for all its retries).
    """
    middlewares: list[Any] = []
    if registry is not None:
        middlewares.append(messaging_middleware(registry, client_id))
        if dead_letter is not None:
            dead_letter.counted = dead_letters_counter(registry)
    if tracing is not None and (telemetry := tracing.kafka_middleware()) is not None:
        middlewares.append(telemetry)
    if dead_letter is not None:
        middlewares.append(dead_letter)
    broker = KafkaBroker(
        settings.kafka_bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=settings.kafka_request_timeout_ms,
        allow_auto_create_topics=False,
        ack_policy=COMMIT_AFTER_WORK,
        middlewares=middlewares,
        description=description,
        graceful_timeout=10.0,
        logger=logging.getLogger(client_id.replace("-", ".")),
    )
    renew_producer_on_fatal_errors(broker)
    if dead_letter is not None:
        dead_letter.publisher = broker.publisher(
            DEAD_LETTER.name, title="dead-letter", description=DEAD_LETTER.description
        )
    return broker


async def ensure_topics(bootstrap: str, topics: Iterable[Topic]) -> None:
    """Create the topics that are missing; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=t.name, num_partitions=t.partitions, replication_factor=1)
            for t in topics
            if t.name not in existing
        ]
        if missing:
            # Another service may create one between list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()
