"""The customers' webhook endpoints in the broadcast benchmark: a minimal HTTP/1.1 server.

It runs in a process of its own (metered on its own, and out of the bench's event loop, whose
intake timings it would otherwise disturb) and listens on several ports, one origin each: the
notifier lets only a few deliveries be in flight to one origin, and in a real outage every
customer has an endpoint of its own. It answers every POST 200 with an empty body, keeps
connections alive, takes pipelined requests, and counts the requests and the distinct
notification ids it was sent (the body's `notification_id`, else the `Idempotency-Key`).
Request bodies must come with a Content-Length (no chunked uploads).
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import multiprocessing
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from time import perf_counter

import aiohttp

from bench.stats import Sample, closed_loop
from infra.processes import LOOPBACK

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
END_OF_HEAD = b"\r\n\r\n"
STARTUP_TIMEOUT_S = 30.0
REQUESTS, DISTINCT = 0, 1  # the shared counters
Counters = ctypes.Array[ctypes.c_int64]


class SinkError(RuntimeError):
    """The sink did not start, or a request to it did not get the answer it always gives."""


@dataclass(frozen=True)
class Received:
    """What the sink counted: every request, and the notification ids among them seen once."""

    requests: int
    distinct: int

    def __sub__(self, earlier: Received) -> Received:
        return Received(self.requests - earlier.requests, self.distinct - earlier.distinct)

    @property
    def duplicates(self) -> int:
        return self.requests - self.distinct


@dataclass(frozen=True)
class WebhookSink:
    """The running sink: its process, its ports (one origin each) and its counters."""

    process: BaseProcess
    ports: tuple[int, ...]
    counters: Counters

    @property
    def pid(self) -> int:
        if self.process.pid is None:
            raise SinkError("the webhook sink has no process")
        return self.process.pid

    def url(self, index: int, path: str) -> str:
        """The endpoint of customer `index`: the customers are dealt over the ports in turn."""
        return f"http://{LOOPBACK}:{self.ports[index % len(self.ports)]}/{path}"

    def received(self) -> Received:
        return Received(self.counters[REQUESTS], self.counters[DISTINCT])


@contextmanager
def running_sink(ports: int) -> Iterator[WebhookSink]:
    """Start the sink process on `ports` free loopback ports; stop it on the way out."""
    context = multiprocessing.get_context("spawn")
    counters = context.RawArray(ctypes.c_int64, 2)
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(
        target=serve, args=(ports, counters, sending), name="webhook-sink", daemon=True
    )
    process.start()
    try:
        _wait_for_ports(process, receiving)
        yield WebhookSink(process, tuple(receiving.recv()), counters)
    finally:
        process.terminate()
        process.join(10)


def _wait_for_ports(process: BaseProcess, receiving: Connection) -> None:
    deadline = perf_counter() + STARTUP_TIMEOUT_S
    while not receiving.poll(0.1):
        if not process.is_alive():
            raise SinkError(f"the webhook sink exited with {process.exitcode} as it started")
        if perf_counter() > deadline:
            raise SinkError(f"the webhook sink did not start within {STARTUP_TIMEOUT_S:.0f}s")


def serve(ports: int, counters: Counters, ready: Connection) -> None:
    """The sink process: listen, say on which ports, answer until terminated."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the bench's: it stops the sink
    asyncio.run(_serve(ports, counters, ready))


async def _serve(ports: int, counters: Counters, ready: Connection) -> None:
    loop = asyncio.get_running_loop()
    seen: set[str] = set()
    servers = [
        await loop.create_server(lambda: SinkProtocol(counters, seen), LOOPBACK, 0, backlog=1024)
        for _ in range(ports)
    ]
    ready.send([server.sockets[0].getsockname()[1] for server in servers])
    await asyncio.Event().wait()


class SinkProtocol(asyncio.Protocol):
    """One connection: every complete request in the buffer is counted and answered 200."""

    def __init__(self, counters: Counters, seen: set[str]) -> None:
        self._counters = counters
        self._seen = seen
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (request := self._next_request()) is not None:
            self._count(*request)
            assert self._transport is not None
            self._transport.write(RESPONSE)

    def _next_request(self) -> tuple[bytes, bytes] | None:
        """The head and body of the first complete request in the buffer, taken out of it."""
        end = self._buffer.find(END_OF_HEAD)
        if end < 0:
            return None
        head = bytes(self._buffer[:end])
        total = end + len(END_OF_HEAD) + int(header(head, b"content-length") or 0)
        if len(self._buffer) < total:
            return None
        body = bytes(self._buffer[end + len(END_OF_HEAD) : total])
        del self._buffer[:total]
        return head, body

    def _count(self, head: bytes, body: bytes) -> None:
        self._counters[REQUESTS] += 1
        notification = notification_id(body) or header(head, b"idempotency-key").decode()
        if notification not in self._seen:
            self._seen.add(notification)
            self._counters[DISTINCT] += 1


def header(head: bytes, name: bytes) -> bytes:
    """The value of header `name` (lower case) in a request head, or b"" without it."""
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return b""


def notification_id(body: bytes) -> str | None:
    try:
        found = json.loads(body).get("notification_id")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def sample_body(notification: str) -> bytes:
    """A JSON body of the size and shape of an outage webhook."""
    payload = {
        "notification_id": notification,
        "event_id": "00000000-0000-4000-8000-000000000000",
        "type": "IncidentDeclared",
        "incident_id": "INC-0000000000000000",
        "customer_id": "bc-bench-00000000-000000",
        "subject": "Service outage: calls failing in one region",
        "message": "Calls into the region fail; engineers are rerouting traffic. " * 3,
        "occurred_at": "2025-01-01T00:00:00+00:00",
    }
    return json.dumps(payload, separators=(",", ":")).encode()


async def aiohttp_posts(sink: WebhookSink, count: int, concurrency: int) -> Sample:
    """`count` POSTs with aiohttp (the client the notifier's webhook channel uses) from
    `concurrency` tasks, the endpoints taken in turn like the customers'; each must be 200."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def post(index: int) -> None:
            notification = f"raw-{index:08d}"
            headers = {"Content-Type": "application/json", "Idempotency-Key": notification}
            body = sample_body(notification)
            async with client.post(sink.url(index, "raw"), data=body, headers=headers) as answer:
                answer.raise_for_status()
                await answer.read()

        await closed_loop(concurrency, concurrency, post)  # warm-up: the connections
        return await closed_loop(count, concurrency, post)


def post_request(port: int, body: bytes) -> bytes:
    """A keep-alive POST of `body` to the sink, as raw bytes."""
    head = (
        f"POST /capacity HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def capacity(sink: WebhookSink, count: int, body: bytes, depth: int) -> float:
    """POSTs a second the sink takes: one connection a port, `depth` requests pipelined on
    each, so that the client (a few bytes written and read per batch) is not what limits."""
    batches = max(1, count // (len(sink.ports) * depth))

    async def one_connection(port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        batch, answers = post_request(port, body) * depth, len(RESPONSE) * depth
        try:
            for _ in range(batches):
                writer.write(batch)
                await writer.drain()
                if await reader.readexactly(answers) != RESPONSE * depth:
                    raise SinkError("the sink answered something other than 200")
        finally:
            writer.close()
            await writer.wait_closed()

    started = perf_counter()
    async with asyncio.TaskGroup() as group:
        for port in sink.ports:
            group.create_task(one_connection(port))
    return batches * depth * len(sink.ports) / (perf_counter() - started)
