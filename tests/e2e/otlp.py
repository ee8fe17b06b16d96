"""A small OTLP/HTTP trace receiver: what the services export, decoded, kept in memory."""

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from infra.processes import LOOPBACK


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, str]


class SpanSink:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint  # the base URL, as SWITCHBOARD_OTLP_ENDPOINT takes it
        self._spans: list[ReceivedSpan] = []
        self._authorizations: list[str] = []
        self._lock = threading.Lock()

    def receive(self, body: bytes, authorization: str = "") -> None:
        request = ExportTraceServiceRequest.FromString(body)
        received = [
            ReceivedSpan(
                service=_service_of(resource_spans),
                name=span.name,
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                parent_span_id=span.parent_span_id.hex(),
                attributes={a.key: str(_value(a.value)) for a in span.attributes},
            )
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self._lock:
            self._spans.extend(received)
            self._authorizations.append(authorization)

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    def authorizations(self) -> list[str]:
        """The `Authorization` header of each export received ("" when there was none)."""
        with self._lock:
            return list(self._authorizations)


def _service_of(resource_spans: object) -> str:
    for attribute in resource_spans.resource.attributes:  # type: ignore[attr-defined]
        if attribute.key == "service.name":
            return str(attribute.value.string_value)
    return ""


def _value(value: object) -> object:
    kind = value.WhichOneof("value")  # type: ignore[attr-defined]
    return getattr(value, kind) if kind else None


@contextmanager
def otlp_receiver() -> Iterator[SpanSink]:
    """A real HTTP server on a free port answering POST /v1/traces as a collector does."""
    server = ThreadingHTTPServer((LOOPBACK, 0), BaseHTTPRequestHandler)
    sink = SpanSink(f"http://{LOOPBACK}:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path != "/v1/traces":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            sink.receive(body, self.headers.get("Authorization", ""))
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
