"""`tail`: a live, colourised view of Switchboard's topics, or one JSON object per line."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.text import Text

from shared.topics import ALL_TOPICS, DEAD_LETTER, DeadLetterHeader, Topic
from tools.dead_letters import ReplayHeader
from tools.reading import POLL_MS, group_free_consumer, to_record
from tools.records import RecordFilter, TopicRecord, short_name, summary

Show = Callable[[TopicRecord], None]
_PALETTE = ("cyan", "green", "magenta", "yellow", "blue", "bright_cyan", "bright_magenta", "red")
_COLOURS = {topic.name: colour for topic, colour in zip(ALL_TOPICS, _PALETTE, strict=True)}


async def tail(
    bootstrap: str,
    topics: Sequence[Topic],
    wanted: RecordFilter,
    show: Show,
    *,
    from_beginning: bool = False,
    limit: int | None = None,
) -> int:
    """Show the records that `wanted` accepts as they arrive; stop after `limit` of them."""
    shown = 0
    reset = "earliest" if from_beginning else "latest"
    async with group_free_consumer(bootstrap, auto_offset_reset=reset) as consumer:
        consumer.subscribe([topic.name for topic in topics])
        while limit is None or shown < limit:
            batches = await consumer.getmany(timeout_ms=POLL_MS)
            for raw in (raw for batch in batches.values() for raw in batch):
                record = to_record(raw)
                if wanted.accepts(record) and (limit is None or shown < limit):
                    show(record)
                    shown += 1
    return shown


def json_lines(write: Callable[[str], None]) -> Show:
    """One JSON object per record and line, for `jq` and scripts."""

    def show(record: TopicRecord) -> None:
        write(json.dumps(record.as_json(), ensure_ascii=False) + "\n")

    return show


def readable(console: Console) -> Show:
    """One coloured line per record: time, topic and place, key, type and the value's fields."""
    return lambda record: console.print(describe(record), soft_wrap=True)


def describe(record: TopicRecord) -> Text:
    colour = _COLOURS.get(record.topic, "white")
    line = Text()
    line.append(record.at.strftime("%H:%M:%S.%f")[:-3], style="dim")
    line.append(f" {short_name(record.topic)}", style=colour)
    line.append(f"[{record.partition}]@{record.offset}", style="dim")
    line.append(f" {record.key or '-'}", style="bold")
    line.append(f" {record.message_type}", style=f"bold {colour}")
    fields = summary(record.payload)
    if fields:
        line.append(f" {fields}")
    if record.topic == DEAD_LETTER.name:
        source = record.headers.get(DeadLetterHeader.SOURCE_TOPIC, "?")
        error = record.headers.get(DeadLetterHeader.ERROR, "?")
        line.append(f"  from {short_name(source)}: {error}", style="red")
    if ReplayHeader.BY in record.headers:
        line.append(f"  replayed by {record.headers[ReplayHeader.BY]}", style="yellow")
    return line
