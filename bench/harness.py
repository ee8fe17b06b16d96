"""What every benchmark shares: its command line, the servers and services it starts once, and
the clients of them (intake with keys issued for the bench, the platform's database)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from pymongo import MongoClient

from bench.stats import Figures
from bench.tickets import Intake
from infra.services import Platform
from infra.stack import start_local_stack
from services.intake.apikeys import issue_key
from services.intake.settings import IntakeSettings
from shared.mongo import Database, Document, create_client
from shared.settings import ServiceSettings
from shared.vocabulary import Role


@dataclass(frozen=True)
class Servers:
    """Kafka, MongoDB and the three services, with the pids of the processes to meter."""

    kafka_bootstrap: str
    mongo_url: str
    platform: Platform
    pids: dict[str, int]


@dataclass(frozen=True)
class Session:
    """intake as the bench calls it, and the database the services share."""

    intake: Intake
    database: Database


Measure = Callable[[Servers], Coroutine[Any, Any, list[Figures]]]


def new_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """A benchmark's command line, with the option every benchmark has: --runs."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=positive, default=3, help="runs; medians are quoted")
    return parser


def parse_with_servers(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, out: Path
) -> argparse.Namespace:
    """Add the options for results and servers (--out, --kafka, --mongo, --service-env), parse."""
    parser.add_argument("--out", type=Path, default=out, help="JSON results file")
    parser.add_argument("--kafka", help="bootstrap of a running Kafka (with --mongo)")
    parser.add_argument("--mongo", help="URL of a running MongoDB-wire store (with --kafka)")
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the services, e.g. SWITCHBOARD_LOG_LEVEL=WARNING",
    )
    args = parser.parse_args(argv)
    if bool(args.kafka) != bool(args.mongo):
        parser.error("--kafka and --mongo go together")
    if any("=" not in item for item in args.service_env):
        parser.error("--service-env takes NAME=VALUE")
    return args


def service_env(args: argparse.Namespace) -> dict[str, str]:
    """The --service-env settings, by variable name."""
    return dict(item.split("=", 1) for item in args.service_env)


def int_setting(args: argparse.Namespace, settings: type[ServiceSettings], name: str) -> int:
    """A service setting as the services the bench starts get it: from --service-env, else
    the environment they inherit, else the settings' default."""
    variable = f"SWITCHBOARD_{name.upper()}"
    given = service_env(args).get(variable) or os.environ.get(variable)
    return int(given if given is not None else settings.model_fields[name].default)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run_benchmark(args: argparse.Namespace, measure: Measure) -> tuple[datetime, list[Figures]]:
    """Start what --kafka/--mongo do not name and the services, measure, stop them all."""
    # The first sends to a freshly created topic wait for its metadata and leaders, and
    # aiokafka logs an error or warning for each retry; a send that really fails raises.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started_at = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    finished = False
    with contextlib.ExitStack() as resources:
        # Runs last: the logs are kept when something failed, to say why.
        resources.callback(lambda: _clean_up(workdir, keep=not finished))
        kafka_bootstrap, mongo_url, pids = _servers(args, workdir, resources)
        running = _platform(args, kafka_bootstrap, mongo_url, workdir, resources)
        pids |= {name: s.process.pid for name, s in running.services.items() if s.process.pid}
        runs = asyncio.run(measure(Servers(kafka_bootstrap, mongo_url, running, pids)))
        finished = True
    return started_at, runs


def exit_quietly_on_interrupt(main: Callable[[], None]) -> None:
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)  # everything started was stopped on the way out


@contextlib.asynccontextmanager
async def session(servers: Servers, connections: int) -> AsyncIterator[Session]:
    """intake with a system key (tickets) and an agent key issued for the bench."""
    platform = servers.platform
    settings = IntakeSettings(mongo_url=servers.mongo_url, mongo_database=platform.database)
    system_key = await issue_key(settings, "bench", Role.SYSTEM, None)
    agent_key = await issue_key(settings, "bench-agent", Role.AGENT, None)
    client = create_client(settings)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    try:
        async with httpx.AsyncClient(
            base_url=platform.intake_url, timeout=30.0, limits=limits
        ) as http:
            yield Session(Intake(http, system_key, agent_key), client[platform.database])
    finally:
        await client.close()


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so every `finally` stops what it started


def _servers(
    args: argparse.Namespace, workdir: Path, resources: contextlib.ExitStack
) -> tuple[str, str, dict[str, int]]:
    """Kafka and MongoDB endpoints, and the pids of the processes to meter."""
    if args.kafka:
        return args.kafka, args.mongo, {"bench": os.getpid()}
    print(f"starting Kafka and the store under {workdir}", flush=True)
    stack = start_local_stack(workdir / "stack")
    resources.callback(stack.stop)
    started = {"kafka": stack.kafka.pid, "store": stack.store.pid}
    pids = {name: pid for name, pid in started.items() if pid is not None}
    return stack.kafka_bootstrap, stack.mongo_url, {"bench": os.getpid(), **pids}


def _platform(
    args: argparse.Namespace,
    kafka_bootstrap: str,
    mongo_url: str,
    workdir: Path,
    resources: contextlib.ExitStack,
) -> Platform:
    """The three services on a database of their own, stopped when `resources` closes."""
    running = Platform(
        kafka_bootstrap,
        mongo_url,
        log_dir=workdir / "logs",
        database=f"bench_{uuid.uuid4().hex[:8]}",
        extra_env=service_env(args),
    )
    if args.mongo:  # leave nothing behind in a server this run did not start
        resources.callback(_drop_database, mongo_url, running.database)
    resources.callback(running.stop)
    print("starting workflow, notifier and intake", flush=True)
    running.start()
    return running


def _drop_database(mongo_url: str, name: str) -> None:
    client: MongoClient[Document] = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    with client:
        client.drop_database(name)


def _clean_up(workdir: Path, keep: bool) -> None:
    if keep:
        print(f"servers stopped; their logs are kept in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
