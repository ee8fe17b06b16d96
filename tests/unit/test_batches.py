"""A consumed batch: in order per key, side by side across keys, and errors after the rest."""

import asyncio

import pytest

from shared.batches import grouped, in_order_per_key


def test_items_are_grouped_by_key_in_arrival_order() -> None:
    items = ["a1", "b1", "a2", "c1", "b2"]

    assert grouped(items, lambda item: item[0]) == [["a1", "a2"], ["b1", "b2"], ["c1"]]


async def test_one_keys_items_are_handled_in_order_while_other_keys_run_alongside() -> None:
    handled: list[str] = []
    both_started = asyncio.Event()
    running: set[str] = set()

    async def handle(item: str) -> None:
        running.add(item[0])
        if len(running) == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), timeout=1)  # deadlocks if one at a time
        handled.append(item)

    await in_order_per_key(["a1", "b1", "a2", "b2"], lambda item: item[0], handle, 8)

    assert [item for item in handled if item[0] == "a"] == ["a1", "a2"]
    assert [item for item in handled if item[0] == "b"] == ["b1", "b2"]


async def test_no_more_keys_than_the_limit_run_at_once() -> None:
    running = 0
    most = 0

    async def handle(item: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1

    await in_order_per_key(list(range(20)), lambda item: item, handle, 3)

    assert most == 3


async def test_an_error_stops_its_key_and_is_raised_once_the_other_keys_are_done() -> None:
    handled: list[str] = []

    async def handle(item: str) -> None:
        if item == "a1":
            raise ValueError("bad a1")
        await asyncio.sleep(0.001)
        handled.append(item)

    with pytest.raises(ValueError, match="bad a1"):
        await in_order_per_key(["a1", "b1", "a2", "b2"], lambda item: item[0], handle, 8)

    assert handled == ["b1", "b2"]
