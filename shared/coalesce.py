"""Many small store calls made at once, answered by one bulk call.

Under load, dozens of tasks ask the store the same kind of thing in the same moment: read one
document by `_id`, insert one document. Each round trip costs the store a request and, for a
write, a commit. A `Coalesced` call gathers the calls made while its previous bulk call was in
flight (or in the same turn of the event loop) and answers them all with one `find` of `$in`
ids, or one unordered `insert_many`. Idle, a call goes out at once, alone; busy, the batch grows
with the load, as a group commit does. Every bulk call starts after each of its callers called,
so a caller never gets an answer older than its own call.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from shared.mongo import Collection, Document, insert_unless_stored

T = TypeVar("T")
R = TypeVar("R")

MOST_AT_ONCE = 1000  # calls answered by one bulk call at most


class Coalesced(Generic[T, R]):
    """`await call(item)`: items gathered, then `bulk(items)` answers each, in order.

    `bulk` returns one result per item, or an exception for that item alone; an exception
    raised by `bulk` itself fails every call of the batch.
    """

    def __init__(self, bulk: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]) -> None:
        self._bulk = bulk
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._running: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._running is None:
            self._running = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:MOST_AT_ONCE]
                del self._waiting[:MOST_AT_ONCE]
                await self._answer(batch)
        finally:
            self._running = None

    async def _answer(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._bulk([item for item, _ in batch])
        except Exception as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


class CoalescedFinds:
    """Documents read by `_id` (with one projection), many callers to one `find`."""

    def __init__(self, collection: Collection, projection: Mapping[str, Any] | None = None):
        self._collection = collection
        self._projection = projection
        self.find_one = Coalesced(self._find)

    async def _find(self, ids: list[str]) -> list[Document | None]:
        cursor = self._collection.find({"_id": {"$in": list(set(ids))}}, self._projection)
        found = {document["_id"]: document async for document in cursor}
        return [found.get(document_id) for document_id in ids]


class CoalescedInserts:
    """Documents inserted unless their `_id` is stored: many callers to one `insert_many`."""

    def __init__(self, collection: Collection) -> None:
        self._collection = collection
        self.insert_new = Coalesced(self._insert)

    async def _insert(self, calls: list[list[Document]]) -> list[set[str]]:
        """Each call's documents: the ids it inserted (not those stored before)."""
        documents = [document for call in calls for document in call]
        refused = await insert_unless_stored(self._collection, documents)
        inserted: list[set[str]] = []
        position = 0
        for call in calls:
            span = range(position, position + len(call))
            inserted.append({documents[i]["_id"] for i in span if i not in refused})
            position += len(call)
        return inserted
