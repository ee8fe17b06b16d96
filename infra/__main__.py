"""`python -m infra provision|start|stop|status` for the local Kafka and document store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.kafka import KafkaServer, kafka_answers
from infra.paths import default_state_dir, env_port
from infra.processes import ServerError
from infra.provision import ProvisionError, provision_all
from infra.stack import READY_TIMEOUT, LocalStack
from infra.store import StoreServer, mongo_answers


@dataclass(frozen=True)
class _Service:
    """One server as the CLI reports it: name, server object, configured address, probe."""

    name: str
    server: KafkaServer | StoreServer
    address: str
    answers: Callable[[str], bool]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit status."""
    args = _parser().parse_args(argv)
    stack = LocalStack.in_dir(
        args.state_dir, args.kafka_port, args.kafka_controller_port, args.mongo_port
    )
    stack.stop_at_exit = False  # the servers outlive this command until `stop`
    try:
        return _run(args.command, stack, args.timeout)
    except (ServerError, ProvisionError) as error:
        print(f"infra: {error}", file=sys.stderr)
        return 1


def _run(command: str, stack: LocalStack, timeout: float) -> int:
    match command:
        case "provision":
            return _provision()
        case "start":
            return _start(stack, timeout)
        case "status":
            return _status(stack)
        case _:
            return _stop(stack)


def _provision() -> int:
    libs, store = provision_all()
    print(f"KAFKA_LIBS={libs}\nSTORE_CLASSPATH={store.classpath}")
    return 0


def _start(stack: LocalStack, timeout: float) -> int:
    for service in _services(stack):
        record = service.server.adopt()
        if record and record.address != service.address:
            raise ServerError(
                f"{service.name} already runs at {record.address} (pid {record.pid}); "
                "stop it first to change its port"
            )
        if record:
            _say(f"{service.name}: already running (pid {record.pid})")
    stack.start(timeout)
    for service in _services(stack):
        _say(f"{service.name}: ready (pid {service.server.pid}) at {service.address}")
    print(f"KAFKA_BOOTSTRAP={stack.kafka_bootstrap}\nMONGO_URL={stack.mongo_url}")
    return 0


def _status(stack: LocalStack) -> int:
    healthy = True
    for service in _services(stack):
        record = service.server.adopt()
        if record is None:
            print(f"{service.name}: not running")
            healthy = False
            continue
        answers = service.answers(record.address)
        state = "answering" if answers else "NOT answering"
        print(f"{service.name}: pid {record.pid} at {record.address}, {state}")
        healthy = healthy and answers
    return 0 if healthy else 1


def _stop(stack: LocalStack) -> int:
    for service in _services(stack):
        record = service.server.adopt()
        # stop() also drops a stale pid file whose process is gone or is no longer ours.
        service.server.stop()
        print(f"{service.name}: " + (f"stopped pid {record.pid}" if record else "not running"))
    return 0


COMMANDS = ("provision", "start", "status", "stop")


def _services(stack: LocalStack) -> list[_Service]:
    return [
        _Service("kafka", stack.kafka, stack.kafka_bootstrap, kafka_answers),
        _Service("store", stack.store, stack.mongo_url, mongo_answers),
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra", description="Run a real Kafka and store locally, no Docker."
    )
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=default_state_dir(),
        help="pid files, data and logs (default: <cache>/run)",
    )
    parser.add_argument("--kafka-port", type=int, default=env_port("SWITCHBOARD_KAFKA_PORT", 9092))
    parser.add_argument(
        "--kafka-controller-port",
        type=int,
        default=env_port("SWITCHBOARD_KAFKA_CONTROLLER_PORT", 9093),
    )
    parser.add_argument("--mongo-port", type=int, default=env_port("SWITCHBOARD_MONGO_PORT", 27017))
    parser.add_argument(
        "--timeout",
        type=float,
        default=READY_TIMEOUT,
        help="seconds `start` waits for both servers to answer",
    )
    return parser


def _say(message: str) -> None:
    print(f"infra: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
