"""Persistence: every acknowledged write survives a crash (SIGKILL) and a clean restart, and
the secondary indexes come back with the documents.

Only a server the suite runs itself can be killed, so these tests always start their own
embedded store in a tmp folder, whatever SWITCHBOARD_TEST_MONGO_URL says.
"""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bson import Decimal128, ObjectId
from pymongo import AsyncMongoClient, ReturnDocument

from infra.store import StoreServer
from shared.mongo import Database, Document
from tests.store.support import (
    connect,
    embedded_server,
    explain_find,
    scanned_key_patterns,
    start,
)

pytestmark = pytest.mark.store

COLLECTION = "records"
GROUPS = 20
SINGLE_INSERTS = 1_200
BATCH_INSERTS = 800
UPDATES = 600
DELETES = 100
CONCURRENCY = 16


@asynccontextmanager
async def client_of(server: StoreServer) -> AsyncIterator[AsyncMongoClient[Document]]:
    mongo = connect(server.url)
    try:
        yield mongo
    finally:
        await mongo.close()


def restarted(folder: Path, data_dir: Path) -> StoreServer:
    """A new server process on the same data, on a port of its own."""
    return start(embedded_server(folder, data_dir))


async def in_parallel(writes: list[tuple[str, Document, Document | None]], db: Database) -> None:
    """Run the writes CONCURRENCY at a time; each returns once acknowledged."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def write(kind: str, first: Document, second: Document | None) -> None:
        async with gate:
            records = db[COLLECTION]
            if kind == "insert":
                await records.insert_one(first)
            elif kind == "update":
                assert second is not None
                done = await records.find_one_and_update(
                    first, second, return_document=ReturnDocument.AFTER
                )
                assert done is not None
            else:
                assert (await records.delete_one(first)).deleted_count == 1

    await asyncio.gather(*(write(*w) for w in writes))


async def assert_holds(db: Database, expected: dict[str, Document]) -> None:
    """The collection holds exactly `expected`, and its index on `group` finds by it."""
    records = db[COLLECTION]
    stored = {d["_id"]: d async for d in records.find({})}
    assert len(stored) == len(expected)
    missing = sorted(expected.keys() - stored.keys())
    assert not missing, f"{len(missing)} acknowledged documents lost, e.g. {missing[:5]}"
    changed = sorted(key for key in expected if stored[key] != expected[key])
    assert not changed, f"{len(changed)} documents lost their last write, e.g. {changed[:5]}"

    assert "group_1" in await records.index_information()
    for group in range(GROUPS):
        wanted = sorted(key for key, doc in expected.items() if doc["group"] == group)
        found = sorted([d["_id"] async for d in records.find({"group": group}, {"_id": 1})])
        assert found == wanted, f"group {group}"
        assert await records.count_documents({"group": group}) == len(wanted)
    explained = await explain_find(db, COLLECTION, {"group": 3})
    assert {"group": 1} in scanned_key_patterns(explained)


async def write_acknowledged(db: Database, rng: random.Random) -> dict[str, Document]:
    """Single inserts, a batch insert, updates (some moving a document to another group, so
    its index entry moves too) and deletes, all acknowledged; returns what must be stored."""
    records = db[COLLECTION]
    await records.create_index("group")
    expected: dict[str, Document] = {}

    singles: list[tuple[str, Document, Document | None]] = []
    for i in range(SINGLE_INSERTS):
        doc: Document = {"_id": f"s{i:04d}", "group": i % GROUPS, "value": i, "version": 0}
        singles.append(("insert", doc, None))
        expected[doc["_id"]] = dict(doc)
    await in_parallel(singles, db)

    batch: list[Document] = [
        {"_id": f"b{i:04d}", "group": i % GROUPS, "value": -i, "version": 0, "tags": [f"t{i % 3}"]}
        for i in range(BATCH_INSERTS)
    ]
    result = await records.insert_many([dict(doc) for doc in batch])
    assert len(result.inserted_ids) == BATCH_INSERTS
    expected.update({doc["_id"]: dict(doc) for doc in batch})

    changes: list[tuple[str, Document, Document | None]] = []
    for key in rng.sample(sorted(expected), UPDATES):
        group = rng.randrange(GROUPS)
        changes.append(
            (
                "update",
                {"_id": key},
                {"$set": {"group": group, "value": f"v-{key}"}, "$inc": {"version": 1}},
            )
        )
        expected[key] |= {"group": group, "value": f"v-{key}", "version": 1}
    for key in rng.sample(sorted(expected), DELETES):
        changes.append(("delete", {"_id": key}, None))
        del expected[key]
    # An update and a delete of one document would race: keep one of them, the delete.
    deleted = {first["_id"] for kind, first, _ in changes if kind == "delete"}
    changes = [c for c in changes if c[0] == "delete" or c[1]["_id"] not in deleted]
    await in_parallel(changes, db)
    return expected


def database_name() -> str:
    return f"store_{uuid.uuid4().hex}"


async def test_every_acknowledged_write_survives_a_kill(tmp_path: Path) -> None:
    name, data_dir = database_name(), tmp_path / "data"
    server = start(embedded_server(tmp_path / "first", data_dir))
    try:
        async with client_of(server) as mongo:
            expected = await write_acknowledged(mongo[name], random.Random(20260302))
    finally:
        server.kill()  # SIGKILL right after the last acknowledgement: nothing is flushed
    assert not server.running()

    again = restarted(tmp_path / "second", data_dir)
    try:
        async with client_of(again) as mongo:
            try:
                await assert_holds(mongo[name], expected)
            finally:
                await mongo.drop_database(name)
    finally:
        again.stop()


async def test_data_and_indexes_survive_a_clean_stop_and_start(tmp_path: Path) -> None:
    name, data_dir = database_name(), tmp_path / "data"
    server = start(embedded_server(tmp_path / "first", data_dir))
    try:
        async with client_of(server) as mongo:
            records = mongo[name][COLLECTION]
            await records.create_index("group")
            await records.insert_many(
                [{"_id": f"r{i:03d}", "group": i % GROUPS, "version": 0} for i in range(200)]
            )
            await records.update_many({"group": 3}, {"$set": {"group": 4}, "$inc": {"version": 1}})
            await records.delete_one({"_id": "r000"})
    finally:
        server.stop()
    expected = {
        f"r{i:03d}": {
            "_id": f"r{i:03d}",
            "group": 4 if i % GROUPS == 3 else i % GROUPS,
            "version": 1 if i % GROUPS == 3 else 0,
        }
        for i in range(1, 200)
    }

    again = restarted(tmp_path / "second", data_dir)
    try:
        async with client_of(again) as mongo:
            try:
                await assert_holds(mongo[name], expected)
                assert await mongo[name][COLLECTION].count_documents({"group": 3}) == 0
            finally:
                await mongo.drop_database(name)
    finally:
        again.stop()


async def test_every_value_type_reads_back_the_same_after_a_kill(tmp_path: Path) -> None:
    """Documents are kept in the data file as BSON: every type the services store (and a
    few more) comes back the same, nested in documents and arrays too."""
    moment = datetime(2026, 12, 4, 9, 30, 15, 123000, tzinfo=UTC)
    document: Document = {
        "_id": "TCK-00000000000000AA",
        "text": "Llamadas cortadas en Málaga ☎",
        "int32": 7,
        "int64": 2**40,
        "double": 0.25,
        "yes": True,
        "nothing": None,
        "when": moment,
        "decimal": Decimal128("12.50"),
        "object_id": ObjectId("65a1b2c3d4e5f60718293a4b"),
        "raw": b"\x00\x01\xff",
        "events": [{"type": "TicketOpened", "at": moment, "tags": ["a", "b"]}, []],
        "nested": {"deeper": {"list": [1, "two", 3.0, None]}},
    }
    name, data_dir = database_name(), tmp_path / "data"
    server = start(embedded_server(tmp_path / "first", data_dir))
    try:
        async with client_of(server) as mongo:
            await mongo[name][COLLECTION].insert_one(dict(document))
    finally:
        server.kill()

    again = restarted(tmp_path / "second", data_dir)
    try:
        async with client_of(again) as mongo:
            try:
                stored = await mongo[name][COLLECTION].find_one({"_id": document["_id"]})
            finally:
                await mongo.drop_database(name)
    finally:
        again.stop()
    assert stored == document
