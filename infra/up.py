"""`python -m infra.up`: Kafka, the document store and the three services, up until Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
import threading

from infra.paths import default_state_dir, env_port
from infra.processes import ServerError
from infra.provision import ProvisionError
from infra.services import Platform
from infra.stack import LocalStack


def main() -> int:
    state_dir = default_state_dir()
    stack = LocalStack.in_dir(
        state_dir,
        env_port("SWITCHBOARD_KAFKA_PORT", 9092),
        env_port("SWITCHBOARD_KAFKA_CONTROLLER_PORT", 9093),
        env_port("SWITCHBOARD_MONGO_PORT", 27017),
    )
    # Servers someone started before (`python -m infra start`) are left running at exit.
    started_here = not (stack.kafka.adopt() and stack.store.adopt())
    stack.stop_at_exit = started_here
    platform = Platform(
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
    try:
        _say("starting Kafka and the document store (the first run downloads them)")
        stack.start()
        _say("starting workflow, notifier and intake")
        platform.start()
        _print_urls(stack, platform)
        _wait_for_stop_signal()
    except (ServerError, ProvisionError) as error:
        _say(f"failed: {error}")
        return 1
    finally:
        _say("stopping")
        platform.stop()
        if started_here:
            stack.stop()
    return 0


def _print_urls(stack: LocalStack, platform: Platform) -> None:
    services = platform.services
    print(
        "\nSwitchboard is up.\n"
        f"  intake API     {platform.intake_url}   (OpenAPI UI: {platform.intake_url}/docs)\n"
        f"  workflow       {services['workflow'].url}/readyz\n"
        f"  notifier       {services['notifier'].url}/readyz\n"
        f"  Kafka          {stack.kafka_bootstrap}\n"
        f"  MongoDB        {stack.mongo_url}\n"
        f"  logs           {platform.log_dir}\n"
        "Issue an API key:  .venv/bin/python -m services.intake.apikeys crm system\n"
        "Try it:            ./switchboard demo\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )


def _wait_for_stop_signal() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()


def _say(message: str) -> None:
    print(f"switchboard: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
