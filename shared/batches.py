"""Handling a batch of consumed messages: in order per key, side by side across keys.

A consumer takes what Kafka has for it in one poll and commits once after the whole batch,
instead of a round trip per message. Messages with the same key (the same ticket) keep their
order; different keys are handled concurrently, so one slow ticket does not hold up the rest.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

T = TypeVar("T")


def grouped(items: Sequence[T], key: Callable[[T], Hashable]) -> list[list[T]]:
    """The items split by key, each group in arrival order, groups in order of first arrival."""
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.values())


async def in_order_per_key(
    items: Sequence[T],
    key: Callable[[T], Hashable],
    handle: Callable[[T], Awaitable[object]],
    concurrency: int,
) -> None:
    """`handle` every item: one key's items one after another, at most `concurrency` keys at
    once. Every key is handled to its end or its first error; then the first error is raised
    (a key's items after its error are left, for the batch to be handled again)."""
    limit = asyncio.Semaphore(concurrency)

    async def handle_group(group: list[T]) -> None:
        async with limit:
            for item in group:
                await handle(item)

    outcomes = await asyncio.gather(
        *(handle_group(group) for group in grouped(items, key)), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
