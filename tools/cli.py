"""`./switchboard tail`, `dead-letters` and `rebuild`: arguments, addresses, exit codes."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import socket
import sys
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError
from pymongo.errors import PyMongoError

from infra.paths import default_state_dir, env_port
from infra.processes import read_pid_file
from tools.commands import (
    Store,
    list_dead_letters,
    rebuild_ticket,
    replay_dead_letter,
    run_tail,
    show_dead_letter,
)
from tools.dead_letters import ReplayRefused
from tools.reading import NoSuchRecord
from tools.records import RecordFilter, UnknownTopic, resolve_topics

INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="switchboard: %(name)s: %(message)s")
    try:
        return asyncio.run(_command(args))
    except KeyboardInterrupt:
        return INTERRUPTED
    except (UnknownTopic, NoSuchRecord, ReplayRefused) as error:
        print(f"switchboard: {error}", file=sys.stderr)
        return 1
    except KafkaError as error:
        print(f"switchboard: Kafka at {args.bootstrap}: {error!r}", file=sys.stderr)
        return 1
    except PyMongoError as error:
        print(f"switchboard: the store at {args.mongo_url}: {error}", file=sys.stderr)
        return 1


def _command(args: argparse.Namespace) -> Coroutine[Any, Any, int]:
    if args.command == "tail":
        wanted = RecordFilter(frozenset(args.ticket), frozenset(args.incident))
        return run_tail(
            args.bootstrap,
            resolve_topics(args.topics),
            wanted,
            from_beginning=args.from_beginning,
            as_json=args.json,
            limit=args.limit,
        )
    store = Store(args.mongo_url, args.database)
    if args.command == "rebuild":
        return rebuild_ticket(store, args.ticket_id, args.as_of, as_json=args.json)
    match args.action:
        case "list":
            return list_dead_letters(args.bootstrap, store, args.last, as_json=args.json)
        case "show":
            return show_dead_letter(
                args.bootstrap, store, args.partition, args.offset, as_json=args.json
            )
        case _:
            return replay_dead_letter(args.bootstrap, store, args.partition, args.offset, args.by)


def local_kafka_bootstrap(state_dir: Path) -> str:
    """$SWITCHBOARD_KAFKA_BOOTSTRAP, else the Kafka that `up` or `python -m infra` runs."""
    record = read_pid_file(state_dir / "kafka.pid")
    fallback = record.address if record else f"127.0.0.1:{env_port('SWITCHBOARD_KAFKA_PORT', 9092)}"
    return os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", fallback)


def local_mongo_url(state_dir: Path) -> str:
    """$SWITCHBOARD_MONGO_URL, else the store that `up` or `python -m infra` runs."""
    record = read_pid_file(state_dir / "store.pid")
    port = env_port("SWITCHBOARD_MONGO_PORT", 27017)
    fallback = record.address if record else f"mongodb://127.0.0.1:{port}/"
    return os.environ.get("SWITCHBOARD_MONGO_URL", fallback)


def operator() -> str:
    """Who runs this: `user@host`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def _parser() -> argparse.ArgumentParser:
    state_dir = default_state_dir()
    kafka = argparse.ArgumentParser(add_help=False)
    kafka.add_argument(
        "--bootstrap",
        default=local_kafka_bootstrap(state_dir),
        help="Kafka host:port (default: $SWITCHBOARD_KAFKA_BOOTSTRAP or the local stack's)",
    )
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--mongo-url",
        default=local_mongo_url(state_dir),
        help="where replays are recorded (default: $SWITCHBOARD_MONGO_URL or the local store)",
    )
    store.add_argument(
        "--database", default=os.environ.get("SWITCHBOARD_MONGO_DATABASE", "switchboard")
    )
    parser = argparse.ArgumentParser(prog="switchboard", description="Tools on the topics.")
    commands = parser.add_subparsers(dest="command", required=True)
    _tail_parser(commands.add_parser("tail", parents=[kafka], help="watch topics live"))
    letters = commands.add_parser("dead-letters", help="list, show or replay dead letters")
    _dead_letter_parsers(letters.add_subparsers(dest="action", required=True), [kafka, store])
    rebuild = commands.add_parser(
        "rebuild", parents=[store], help="a ticket's state replayed from its events"
    )
    rebuild.add_argument("ticket_id", metavar="TICKET_ID")
    rebuild.add_argument(
        "--as-of",
        type=moment,
        metavar="TIME",
        help="only events up to TIME (ISO 8601; UTC if no zone)",
    )
    rebuild.add_argument("--json", action="store_true", help="as one line of JSON")
    return parser


def moment(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _tail_parser(tail: argparse.ArgumentParser) -> None:
    tail.add_argument("topics", nargs="*", metavar="TOPIC", help="default: every topic")
    tail.add_argument("--ticket", action="append", default=[], metavar="ID")
    tail.add_argument("--incident", action="append", default=[], metavar="ID")
    tail.add_argument("--from-beginning", action="store_true", help="not only what comes next")
    tail.add_argument("--json", action="store_true", help="one JSON object per line")
    tail.add_argument("--limit", type=int, metavar="N", help="stop after N records")


def _dead_letter_parsers(actions: Any, parents: list[argparse.ArgumentParser]) -> None:
    listing = actions.add_parser("list", parents=parents, help="the newest dead letters")
    listing.add_argument("--last", type=int, default=50, metavar="N", help="default 50")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    show = actions.add_parser("show", parents=parents, help="one dead letter in full")
    replay = actions.add_parser("replay", parents=parents, help="publish it back, once")
    for action in (show, replay):
        action.add_argument("offset", type=int, metavar="OFFSET")
        action.add_argument("--partition", type=int, default=0, help="default 0")
    show.add_argument("--json", action="store_true", help="as one line of JSON")
    replay.add_argument("--by", default=operator(), help="who replays it (default user@host)")
