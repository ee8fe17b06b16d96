"""OpenTelemetry traces, exported by OTLP/HTTP when an endpoint is set and off otherwise.

The W3C trace context (`traceparent`) travels in Kafka message headers (FastStream's telemetry
middleware on the broker) and in HTTP headers; work done later from a stored document (an
outbox relayed after a crash, a notification delivered by the worker) continues the trace of
the command that caused it through the `traceparent` stored beside it in the same write.

Off, nothing is installed: no middleware, and every span asked for is one shared no-op context
manager, so the hot path pays one attribute check.
"""

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from shared.settings import ServiceSettings

TRACEPARENT = "traceparent"
TRACES_PATH = "/v1/traces"
_PROPAGATOR = TraceContextTextMapPropagator()
_NO_SPAN: AbstractContextManager[None] = nullcontext()

Parent = str | Mapping[str, Any] | None


class Tracing:
    """The spans of one service; `Tracing.off()` makes none and costs nothing."""

    def __init__(self, provider: TracerProvider | None) -> None:
        self.provider = provider
        self.enabled = provider is not None
        self._tracer = provider.get_tracer("switchboard") if provider is not None else None

    @classmethod
    def off(cls) -> "Tracing":
        return cls(None)

    def kafka_middleware(self) -> KafkaTelemetryMiddleware | None:
        """FastStream's own: a span per message published and consumed, context in headers."""
        if self.provider is None:
            return None
        return KafkaTelemetryMiddleware(tracer_provider=self.provider)

    def span(
        self,
        name: str,
        *,
        parent: Parent = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> AbstractContextManager[Any]:
        """A current span: the child of `parent` (a traceparent, or headers carrying one)
        when given and valid, else of whatever span is current."""
        if self._tracer is None:
            return _NO_SPAN
        return self._started(name, parent, kind, attributes)

    @contextmanager
    def _started(
        self,
        name: str,
        parent: Parent,
        kind: SpanKind,
        attributes: Mapping[str, AttributeValue] | None,
    ) -> Iterator[trace.Span]:
        assert self._tracer is not None
        with self._tracer.start_as_current_span(
            name, context=context_of(parent), kind=kind, attributes=attributes
        ) as span:
            yield span

    def shutdown(self) -> None:
        """Export what is left; called when the service stops."""
        if self.provider is not None:
            self.provider.shutdown()


def context_of(parent: Parent) -> context.Context | None:
    """The context a traceparent (or headers with one) names; None for the current one."""
    if parent is None:
        return None
    carrier = {TRACEPARENT: parent} if isinstance(parent, str) else parent
    if TRACEPARENT not in carrier:
        return None
    extracted = _PROPAGATOR.extract(carrier)
    return extracted if trace.get_current_span(extracted).get_span_context().is_valid else None


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to store beside work done later."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}"
        f"-{int(span_context.trace_flags):02x}"
    )


def configure_tracing(service: str, settings: ServiceSettings) -> Tracing:
    """Spans exported by OTLP/HTTP to `settings.otlp_endpoint` (the collector's base URL,
    `/v1/traces` is added), in batches from a thread of their own; off when it is empty.
    The exporter also honours the standard `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` variables
    (headers, timeouts, batch delay)."""
    if not settings.otlp_endpoint:
        return Tracing.off()
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service}),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    endpoint = settings.otlp_endpoint.rstrip("/") + TRACES_PATH
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return Tracing(provider)
