"""Kafka and the document store side by side under one folder, for tests and `python -m infra`."""

from __future__ import annotations

import atexit
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Protocol

from infra.kafka import KafkaServer
from infra.processes import free_ports
from infra.provision import provision_all
from infra.store import StoreServer

READY_TIMEOUT = 90.0


class _Server(Protocol):
    def start(self) -> int: ...
    def running(self) -> bool: ...
    def wait_ready(self, timeout: float) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...


@dataclass
class LocalStack:
    """A Kafka broker and a document store; `with` stops both on exit."""

    kafka: KafkaServer
    store: StoreServer
    stop_at_exit: bool = True  # stop the servers when this Python process exits

    @classmethod
    def in_dir(
        cls, root: Path, kafka_port: int, kafka_controller_port: int, mongo_port: int
    ) -> LocalStack:
        """Both servers with data, logs and pid files under `root`."""
        root = root.resolve()  # the broker and pid files must not depend on the cwd
        kafka = KafkaServer(
            port=kafka_port,
            controller_port=kafka_controller_port,
            data_dir=root / "kafka",
            log_dir=root / "logs",
            pid_file=root / "kafka.pid",
        )
        store = StoreServer(
            port=mongo_port,
            data_dir=root / "store",
            log_file=root / "logs" / "store.log",
            pid_file=root / "store.pid",
        )
        return cls(kafka, store)

    @property
    def kafka_bootstrap(self) -> str:
        """Kafka `host:port` to bootstrap from."""
        return self.kafka.bootstrap_servers

    @property
    def mongo_url(self) -> str:
        """MongoDB connection string of the store."""
        return self.store.url

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        """Start whichever server is not running, then wait until both answer."""
        provision_all()  # both builds at once on a cold cache, instant on a warm one
        started: list[_Server] = []
        try:
            # Launch both before waiting on either: the two JVMs boot in parallel.
            for server in self._servers():
                if not server.running():
                    server.start()
                    started.append(server)
            self.wait_ready(timeout)
        except BaseException:
            _in_parallel([server.stop for server in started])
            raise
        if self.stop_at_exit:
            atexit.register(self.stop)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait for both servers at once; raise the first failure."""
        _in_parallel([partial(server.wait_ready, timeout) for server in self._servers()])

    def stop(self) -> None:
        """Stop both servers, in parallel."""
        atexit.unregister(self.stop)
        _in_parallel([server.stop for server in self._servers()])

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _servers(self) -> tuple[_Server, _Server]:
        return (self.kafka, self.store)


def start_local_stack(base_dir: Path, timeout: float = READY_TIMEOUT) -> LocalStack:
    """Start Kafka and the store on free loopback ports with everything under `base_dir`."""
    kafka_port, controller_port, mongo_port = free_ports(3)
    stack = LocalStack.in_dir(base_dir, kafka_port, controller_port, mongo_port)
    stack.start(timeout)
    return stack


def _in_parallel(calls: Sequence[Callable[[], None]]) -> None:
    with ThreadPoolExecutor(max_workers=max(1, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]
    for future in futures:
        future.result()  # re-raises the first failure, after every call has finished
