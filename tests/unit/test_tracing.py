"""Traces and the ids on log lines: off costs nothing, on continues the trace it is given."""

import json
import logging
from types import SimpleNamespace

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.logs import JsonFormatter, handling
from shared.metrics import partition_lag
from shared.settings import ServiceSettings
from shared.tracing import Tracing, configure_tracing, context_of, current_traceparent

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def traced() -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider), exporter


def logged(message: str) -> dict[str, object]:
    record = logging.LogRecord("switchboard.test", logging.INFO, __file__, 1, message, (), None)
    return dict(json.loads(JsonFormatter().format(record)))


def test_without_an_endpoint_tracing_is_off_and_installs_nothing() -> None:
    tracing = configure_tracing("switchboard-test", ServiceSettings(otlp_endpoint=""))

    assert not tracing.enabled
    assert tracing.kafka_middleware() is None
    with tracing.span("work", parent=CALLER) as span:
        assert span is None
        assert current_traceparent() is None


def test_with_an_endpoint_the_brokers_get_faststreams_telemetry_middleware() -> None:
    tracing = configure_tracing(
        "switchboard-test", ServiceSettings(otlp_endpoint="http://127.0.0.1:4318")
    )
    try:
        assert tracing.enabled
        assert tracing.kafka_middleware() is not None
    finally:
        tracing.shutdown()


def test_a_span_continues_the_trace_of_the_traceparent_it_is_given() -> None:
    tracing, exporter = traced()

    with tracing.span("apply", parent={"traceparent": CALLER}):
        stored = current_traceparent()

    (span,) = exporter.get_finished_spans()
    assert f"{span.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == "b7ad6b7169203331"
    assert stored == f"00-0af7651916cd43dd8448eb211c80319c-{span.context.span_id:016x}-01"


def test_a_stored_traceparent_continues_its_trace_later() -> None:
    tracing, exporter = traced()
    with tracing.span("command"):
        stored = current_traceparent()

    with tracing.span("outbox relay", parent=stored):
        pass

    command, relay = exporter.get_finished_spans()
    assert relay.context.trace_id == command.context.trace_id
    assert relay.parent is not None
    assert relay.parent.span_id == command.context.span_id


def test_headers_without_a_valid_traceparent_leave_the_current_span_the_parent() -> None:
    assert context_of({"event-type": "TicketOpened"}) is None
    assert context_of("not-a-traceparent") is None
    assert context_of(None) is None


def test_a_log_line_names_the_ticket_handled_and_the_trace_it_is_part_of() -> None:
    tracing, _ = traced()

    with tracing.span("apply", parent=CALLER), handling(ticket_id="TCK-1"):
        inside = logged("applied")
    outside = logged("idle")

    assert inside["ticket_id"] == "TCK-1"
    assert inside["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert "ticket_id" not in outside
    assert "trace_id" not in outside


def test_nested_handling_names_both_and_unwinds() -> None:
    with handling(incident_id="INC-1"):
        with handling(notification_id="n-1"):
            both = logged("sent")
        after = logged("done")

    assert both["incident_id"] == "INC-1"
    assert both["notification_id"] == "n-1"
    assert after["incident_id"] == "INC-1"
    assert "notification_id" not in after


class FakeConsumer:
    def __init__(self, highwater: int | None, position: int) -> None:
        self._highwater = highwater
        self._position = position

    def highwater(self, _tp: object) -> int | None:
        return self._highwater

    async def position(self, _tp: object) -> int:
        return self._position


async def test_a_partitions_lag_is_its_highwater_less_the_consumers_position() -> None:
    tp = SimpleNamespace(topic="t", partition=0)

    assert await partition_lag(FakeConsumer(120, 100), tp) == 20
    assert await partition_lag(FakeConsumer(100, 100), tp) == 0
    assert await partition_lag(FakeConsumer(None, 100), tp) is None
