"""Store calls made at once, answered by one bulk call, and never by one started before them."""

import asyncio

import pytest

from shared.coalesce import Coalesced


class Bulk:
    """Records each bulk call; answers an item with its double, or its own error if negative."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.calls.append(items)
        await self.release.wait()
        return [ValueError(f"bad {i}") if i < 0 else i * 2 for i in items]


async def test_calls_made_at_once_are_answered_by_one_bulk_call() -> None:
    bulk = Bulk()
    call = Coalesced(bulk)

    answers = await asyncio.gather(*(call(i) for i in range(5)))

    assert answers == [0, 2, 4, 6, 8]
    assert bulk.calls == [[0, 1, 2, 3, 4]]


async def test_a_call_made_while_a_bulk_call_runs_waits_for_the_next_one() -> None:
    bulk = Bulk()
    call = Coalesced(bulk)
    bulk.release.clear()
    first = asyncio.create_task(call(1))
    await asyncio.sleep(0)  # the first bulk call is now in flight
    later = [asyncio.create_task(call(i)) for i in (2, 3)]
    await asyncio.sleep(0)
    bulk.release.set()

    assert [await first, *[await task for task in later]] == [2, 4, 6]
    assert bulk.calls == [[1], [2, 3]]


async def test_an_item_refused_fails_only_its_own_call() -> None:
    call = Coalesced(Bulk())

    answers = await asyncio.gather(call(1), call(-1), call(3), return_exceptions=True)

    assert (answers[0], answers[2]) == (2, 6)
    assert isinstance(answers[1], ValueError)


async def test_a_bulk_call_that_fails_fails_every_call_it_answers() -> None:
    async def broken(items: list[int]) -> list[int | BaseException]:
        raise ConnectionError("store down")

    call = Coalesced(broken)

    with pytest.raises(ConnectionError):
        await asyncio.gather(call(1), call(2))
