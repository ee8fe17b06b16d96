"""What each tool command does: open Kafka (and the store, for replays), run, print."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from rich.console import Console
from rich.table import Table

from shared.mongo import Collections
from shared.topics import DEAD_LETTER, Topic
from tools.dead_letters import (
    REPLAYS_COLLECTION,
    DeadLetter,
    Replays,
    as_dead_letter,
    replay,
    replays_of,
)
from tools.reading import NoSuchRecord, last_records, record_at
from tools.rebuild import rebuild_report
from tools.records import RecordFilter, short_name
from tools.tail import json_lines, readable, tail

STORE_TIMEOUT_MS = 5_000


@dataclass(frozen=True, slots=True)
class Store:
    """Where replays are recorded."""

    url: str
    database: str


async def run_tail(
    bootstrap: str,
    topics: tuple[Topic, ...],
    wanted: RecordFilter,
    *,
    from_beginning: bool,
    as_json: bool,
    limit: int | None,
) -> int:
    show = json_lines(_write_stdout) if as_json else readable(Console(highlight=False))
    await tail(bootstrap, topics, wanted, show, from_beginning=from_beginning, limit=limit)
    return 0


async def list_dead_letters(bootstrap: str, store: Store, last: int, *, as_json: bool) -> int:
    records = await last_records(bootstrap, DEAD_LETTER.name, range(DEAD_LETTER.partitions), last)
    letters = [as_dead_letter(record) for record in records]
    async with _replays(store) as replays:
        done = await replays_of(replays, letters)
    if as_json:
        for letter in letters:
            _write_stdout(_json_line(letter.as_json(done.get(letter.replay_id))))
    else:
        Console(highlight=False).print(_dead_letter_table(letters, done))
    return 0


async def show_dead_letter(
    bootstrap: str, store: Store, partition: int, offset: int, *, as_json: bool
) -> int:
    letter = as_dead_letter(await record_at(bootstrap, DEAD_LETTER.name, partition, offset))
    async with _replays(store) as replays:
        done = (await replays_of(replays, [letter])).get(letter.replay_id)
    view = letter.as_json(done)
    if as_json:
        _write_stdout(_json_line(view))
    else:
        Console(highlight=False).print_json(json.dumps(view, default=str))
    return 0


async def replay_dead_letter(
    bootstrap: str, store: Store, partition: int, offset: int, by: str
) -> int:
    letter = as_dead_letter(await record_at(bootstrap, DEAD_LETTER.name, partition, offset))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    try:
        await producer.start()
        async with _replays(store) as replays:
            done = await replay(letter, producer, replays, by, datetime.now(UTC))
    finally:
        await producer.stop()
    print(
        f"replayed dead letter {letter.replay_id} to {done['source_topic']}"
        f"[{done['partition']}]@{done['offset']} (key {letter.record.key}) as {by}"
    )
    return 0


async def rebuild_ticket(
    store: Store, ticket_id: str, as_of: datetime | None, *, as_json: bool
) -> int:
    """Exit 1 when the full replay of the events disagrees with the stored state."""
    async with _database(store) as database:
        document = await database[Collections.TICKETS].find_one({"_id": ticket_id})
    if document is None:
        raise NoSuchRecord(f"no ticket {ticket_id} in the store")
    report = rebuild_report(document, as_of)
    if as_json:
        _write_stdout(_json_line(report))
    else:
        _print_rebuild(Console(highlight=False), report)
    return 1 if report["differences"] else 0


def _print_rebuild(console: Console, report: dict[str, Any]) -> None:
    when = report["as_of"] or "now"
    console.print(f"{report['ticket_id']} as of {when}, from {report['events']} events")
    state = Table("field", "value")
    for name, value in report["state"].items():
        state.add_row(name, json.dumps(value, ensure_ascii=False))
    console.print(state)
    if not report["differences"]:
        console.print("the full replay matches the stored document")
        return
    differences = Table("field", "rebuilt from events", "stored")
    for name, pair in report["differences"].items():
        differences.add_row(name, json.dumps(pair["rebuilt"]), json.dumps(pair["stored"]))
    console.print(differences)


@asynccontextmanager
async def _database(store: Store) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        store.url, serverSelectionTimeoutMS=STORE_TIMEOUT_MS, tz_aware=True
    )
    try:
        yield client[store.database]
    finally:
        await client.close()


@asynccontextmanager
async def _replays(store: Store) -> AsyncIterator[Replays]:
    async with _database(store) as database:
        yield database[REPLAYS_COLLECTION]


def _dead_letter_table(letters: list[DeadLetter], done: dict[str, dict[str, Any]]) -> Table:
    table = Table("partition:offset", "time", "from", "key", "type", "error", "replayed")
    for letter in letters:
        record, replayed = letter.record, done.get(letter.replay_id)
        table.add_row(
            letter.replay_id,
            record.at.strftime("%Y-%m-%d %H:%M:%S"),
            short_name(letter.source_topic),
            record.key or "-",
            record.message_type,
            letter.error,
            f"{replayed['state']} by {replayed['replayed_by']}" if replayed else "-",
        )
    return table


def _json_line(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False, default=str) + "\n"


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()  # a live tail piped into `jq` shows each record as it comes
