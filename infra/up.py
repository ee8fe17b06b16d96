"""`python -m infra.up`: Kafka, the store, the development sinks and the three services, supervised.

Kafka, the store and every service run under a supervisor that restarts each one when it
exits; `./switchboard status` and `./switchboard restart NAME` talk to it over its control
socket. Up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from infra.control import SOCKET_NAME, ControlError, ControlServer, supervisor_answers
from infra.kafka import KafkaServer
from infra.manage import SINKS_DIR
from infra.paths import default_state_dir, env_port
from infra.processes import ServerError, log_tail
from infra.provision import ProvisionError, provision_all
from infra.services import READY_TIMEOUT, SERVICE_NAMES, Platform
from infra.sinks import DevelopmentSinks, SinkAddresses
from infra.stack import READY_TIMEOUT as SERVERS_READY_TIMEOUT
from infra.stack import LocalStack
from infra.store import StoreServer
from infra.supervisor import Backoff, ChildSpec, Report, Supervisor
from services.notifier.settings import NotifierSettings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    state_dir: Path = args.state_dir
    control_path = state_dir / SOCKET_NAME
    if asyncio.run(supervisor_answers(control_path)):
        _say("already up (see `./switchboard status`)")
        return 1
    stack = LocalStack.in_dir(
        state_dir,
        env_port("SWITCHBOARD_KAFKA_PORT", 9092),
        env_port("SWITCHBOARD_KAFKA_CONTROLLER_PORT", 9093),
        env_port("SWITCHBOARD_MONGO_PORT", 27017),
    )
    stack.stop_at_exit = False  # what `up` starts, its supervisor stops
    try:
        _say("preparing Kafka and the document store (the first run downloads them)")
        servers = _server_specs(stack)
        return asyncio.run(_run(stack, servers, state_dir, sinks=not args.no_sinks))
    except (ServerError, ProvisionError, ControlError) as error:
        _say(f"failed: {error}")
        return 1


def _server_specs(stack: LocalStack) -> list[ChildSpec]:
    """Kafka and the store as supervised children, but for one already running.

    A server that runs already (`python -m infra start`, or left by an `up` that was killed)
    is not this process's child, so it cannot be watched for its exit: it is used as it is,
    and left running at exit.
    """
    provision_all()  # both builds at once on a cold cache, instant on a warm one
    servers: dict[str, tuple[KafkaServer | StoreServer, str]] = {
        "kafka": (stack.kafka, stack.kafka_bootstrap),
        "store": (stack.store, stack.mongo_url),
    }
    specs = []
    for name, (server, address) in servers.items():
        record = server.adopt()
        if record is not None:
            _say(f"{name}: already running (pid {record.pid}); used as it is, not supervised")
            continue
        argv = server.prepare()
        specs.append(ChildSpec(name, argv, server.log_file, None, server.pid_file, address))
    return specs


async def _run(stack: LocalStack, servers: list[ChildSpec], state_dir: Path, *, sinks: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    platform = _platform(stack, state_dir)
    specs = [*servers, *_service_specs(platform, state_dir)]
    supervisor = Supervisor(specs, Backoff(), _reporter(platform))
    development_sinks = _development_sinks(state_dir) if sinks else None
    sink_status = await _start_sinks(development_sinks)
    control = ControlServer(supervisor, state_dir / SOCKET_NAME, {"sinks": sink_status})
    server_names = [spec.name for spec in servers]
    try:
        await control.start()
        if server_names:
            _say(f"starting {' and '.join(server_names)} under the supervisor")
        supervisor.start(server_names)
        await _wait_answering(stack, stop)
        if not stop.is_set():
            _stop_leftovers(platform)
            _say("starting workflow, notifier and intake under the supervisor")
            supervisor.start(SERVICE_NAMES)
            await _wait_ready(platform, stop)
        if not stop.is_set():
            _print_urls(stack, platform, sink_status)
        await stop.wait()
    finally:
        await control.stop()
        _say("stopping the services")
        await supervisor.stop(SERVICE_NAMES)
        if server_names:
            _say(f"stopping {' and '.join(server_names)}")
            await supervisor.stop(server_names)
        if development_sinks is not None:
            await development_sinks.stop()
    return 0


async def _wait_answering(stack: LocalStack, stop: asyncio.Event) -> None:
    """Until Kafka and the store both answer (or a stop signal); a crash is the supervisor's."""
    deadline = time.monotonic() + SERVERS_READY_TIMEOUT
    probes = {"kafka": stack.kafka.is_ready, "store": stack.store.is_ready}
    logs = {"kafka": [stack.kafka.log_file], "store": [stack.store.log_file]}
    while probes and not stop.is_set():
        for name, answers in list(probes.items()):
            if await asyncio.to_thread(answers):
                del probes[name]
        if probes and time.monotonic() > deadline:
            late = ", ".join(probes)
            tails = log_tail([file for name in probes for file in logs[name]])
            raise ServerError(f"not answering after {SERVERS_READY_TIMEOUT:.0f} s: {late}\n{tails}")
        await asyncio.sleep(0.2)


def _platform(stack: LocalStack, state_dir: Path) -> Platform:
    return Platform(
        kafka_bootstrap=stack.kafka_bootstrap,
        mongo_url=stack.mongo_url,
        log_dir=state_dir / "logs",
        database=os.environ.get("SWITCHBOARD_MONGO_DATABASE", "switchboard"),
        ports={
            "intake": env_port("SWITCHBOARD_INTAKE_PORT", 8000),
            "workflow": env_port("SWITCHBOARD_WORKFLOW_PORT", 8001),
            "notifier": env_port("SWITCHBOARD_NOTIFIER_PORT", 8002),
        },
        pid_dir=state_dir,
    )


def _stop_leftovers(platform: Platform) -> None:
    """Stop services an `up` that was killed left running (their pid files name them)."""
    for name, service in platform.services.items():
        record = service.process.adopt()
        if record is not None:
            _say(f"{name}: stopping pid {record.pid}, left running by an earlier `up`")
            service.stop()


def _service_specs(platform: Platform, state_dir: Path) -> list[ChildSpec]:
    return [
        ChildSpec(
            name=name,
            argv=service.argv,
            log_file=service.process.log_file,
            env=service.env,
            pid_file=state_dir / f"{name}.pid",
            address=service.url,
        )
        for name, service in platform.services.items()
    ]


def _reporter(platform: Platform) -> Report:
    """Say what the supervisor does on stderr and in `logs/supervisor.log`."""
    log_file = platform.log_dir / "supervisor.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)

    def report(message: str) -> None:
        _say(message)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with log_file.open("a", encoding="utf-8") as log:
            log.write(f"{stamp} {message}\n")

    return report


def _development_sinks(state_dir: Path) -> DevelopmentSinks | None:
    """Sinks where the notifier's settings point, if they point at this machine."""
    try:
        settings = NotifierSettings()
    except ValidationError as error:
        _say(f"development sinks not started: the notifier's settings are invalid\n{error}")
        return None
    addresses = SinkAddresses(settings.smtp_host, settings.smtp_port, settings.sms_gateway_url)
    return DevelopmentSinks(state_dir / SINKS_DIR, addresses)


async def _start_sinks(sinks: DevelopmentSinks | None) -> dict[str, str]:
    """Start each sink whose address is local; say where each one is, or why it is not."""
    if sinks is None:
        return {}
    where = sinks.addresses
    email = f"smtp://{where.smtp_host}:{where.smtp_port}"
    sms_host = urlsplit(where.sms_url).hostname or ""
    return {
        "email": await _start_sink(sinks.start_mail, email, where.smtp_host),
        "sms": await _start_sink(sinks.start_sms, where.sms_url, sms_host),
    }


async def _start_sink(start: Callable[[], Awaitable[None]], address: str, host: str) -> str:
    if host not in LOOPBACK_HOSTS:
        return f"not started: {address} is not on this machine"
    try:
        await start()
    except OSError as error:
        _say(f"a development sink could not listen on {address}: {error}")
        return f"not started: {address}: {error.strerror}"
    return address


async def _wait_ready(platform: Platform, stop: asyncio.Event) -> None:
    """Until every service answers /readyz (or a stop signal); a crash is the supervisor's."""
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = dict(platform.services)
    async with httpx.AsyncClient(timeout=3.0) as client:
        while waiting and not stop.is_set():
            for name, service in list(waiting.items()):
                with contextlib.suppress(httpx.HTTPError):  # not listening yet
                    if (await client.get(f"{service.url}/readyz")).status_code == 200:
                        del waiting[name]
            if time.monotonic() > deadline:
                _say(f"not ready after {READY_TIMEOUT:.0f} s: {', '.join(waiting)} (see logs)")
                return
            await asyncio.sleep(0.2)


def _print_urls(stack: LocalStack, platform: Platform, sinks: dict[str, str]) -> None:
    services = platform.services
    sink_lines = "".join(f"  {name + ' sink':<15}{at}\n" for name, at in sinks.items())
    print(
        "\nSwitchboard is up.\n"
        f"  intake API     {platform.intake_url}   (OpenAPI UI: {platform.intake_url}/docs)\n"
        f"  workflow       {services['workflow'].url}/readyz\n"
        f"  notifier       {services['notifier'].url}/readyz\n"
        f"  Kafka          {stack.kafka_bootstrap}\n"
        f"  MongoDB        {stack.mongo_url}\n"
        f"{sink_lines}"
        f"  logs           {platform.log_dir}\n"
        "Issue an API key:  .venv/bin/python -m services.intake.apikeys crm system\n"
        "Try it:            ./switchboard demo\n"
        "Status, restart:   ./switchboard status; ./switchboard restart NAME\n"
        "What sinks got:    ./switchboard sinks\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard up", description=__doc__)
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=default_state_dir(),
        help="pid files, data, logs and the control socket (default: <cache>/run)",
    )
    parser.add_argument(
        "--no-sinks", action="store_true", help="start no development email or SMS sink"
    )
    return parser


def _say(message: str) -> None:
    print(f"switchboard: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
