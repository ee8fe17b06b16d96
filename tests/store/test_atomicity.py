"""Single-document atomicity under concurrent clients: what the outbox, the leases, the
optimistic version check and the directory's upserts rely on."""

import asyncio

import pytest
from pymongo import ReturnDocument

from shared.mongo import Database, Document
from tests.store.support import WRITERS

pytestmark = pytest.mark.store

UPDATES_PER_WRITER = 25
PENDING_JOBS = 300
CLAIMS_PER_WRITER = 10
NOW, LATER = 1_000, 2_000  # lease times: a claim runs until LATER, seen at NOW
VERSION_ROUNDS = 10
UPSERTED_KEYS = 10


async def test_concurrent_inc_and_push_on_one_document_lose_no_update(
    database: Database, writers: list[Database]
) -> None:
    await database["hot"].insert_one({"_id": "hot", "n": 0, "items": []})

    async def write(writer: int, db: Database) -> int:
        modified = 0
        for step in range(UPDATES_PER_WRITER):
            item = writer * UPDATES_PER_WRITER + step
            result = await db["hot"].update_one(
                {"_id": "hot"}, {"$inc": {"n": 1}, "$push": {"items": item}}
            )
            modified += result.modified_count
        return modified

    modified = await asyncio.gather(*(write(w, db) for w, db in enumerate(writers)))

    total = WRITERS * UPDATES_PER_WRITER
    document = await database["hot"].find_one({"_id": "hot"})
    assert document is not None
    assert sum(modified) == total
    assert document["n"] == total
    assert len(document["items"]) == total
    assert sorted(document["items"]) == list(range(total))


async def test_concurrent_claims_take_each_pending_document_exactly_once(
    database: Database, writers: list[Database]
) -> None:
    jobs = database["jobs"]
    await jobs.create_index([("status", 1), ("lease_until", 1)])
    await jobs.insert_many(
        [
            {"_id": f"job-{i:03d}", "status": "pending", "lease_until": 0}
            for i in range(PENDING_JOBS)
        ]
    )

    async def claim(owner: str, db: Database) -> list[Document]:
        claimed = []
        for _ in range(CLAIMS_PER_WRITER):
            document = await db["jobs"].find_one_and_update(
                {"status": "pending", "lease_until": {"$lt": NOW}},
                {"$set": {"owner": owner, "lease_until": LATER}},
                return_document=ReturnDocument.AFTER,
            )
            if document is not None:
                claimed.append(document)
        return claimed

    claims = await asyncio.gather(*(claim(f"w{w}", db) for w, db in enumerate(writers)))

    expected = WRITERS * CLAIMS_PER_WRITER
    claimed_by = {d["_id"]: d["owner"] for batch in claims for d in batch}
    assert [len(batch) for batch in claims] == [CLAIMS_PER_WRITER] * WRITERS
    assert sum(len(batch) for batch in claims) == expected
    assert len(claimed_by) == expected  # distinct documents: nobody took one twice
    assert all(d["owner"] == f"w{w}" for w, batch in enumerate(claims) for d in batch)
    stored = {d["_id"]: d["owner"] async for d in jobs.find({"lease_until": LATER})}
    assert stored == claimed_by
    assert await jobs.count_documents({"lease_until": {"$lt": NOW}}) == PENDING_JOBS - expected


async def test_only_one_writer_wins_an_optimistic_version_check(
    database: Database, writers: list[Database]
) -> None:
    await database["aggregates"].insert_one({"_id": "agg", "version": 0, "events": []})
    winners: list[str] = []
    for round_ in range(VERSION_ROUNDS):
        loaded = await database["aggregates"].find_one({"_id": "agg"})
        assert loaded is not None
        version = loaded["version"]
        saved = await asyncio.gather(
            *(
                db["aggregates"].find_one_and_update(
                    {"_id": "agg", "version": version},
                    {
                        "$set": {"version": version + 1},
                        "$push": {"events": {"$each": [f"{round_}:w{w}"]}},
                    },
                    return_document=ReturnDocument.AFTER,
                )
                for w, db in enumerate(writers)
            )
        )
        won = [document for document in saved if document is not None]
        assert len(won) == 1, f"round {round_}: {len(won)} writers saved version {version + 1}"
        winners.append(won[0]["events"][-1])

    final = await database["aggregates"].find_one({"_id": "agg"})
    assert final is not None
    assert final["version"] == VERSION_ROUNDS
    assert final["events"] == winners


async def test_concurrent_upserts_of_one_id_create_one_document(
    database: Database, writers: list[Database]
) -> None:
    for key in range(UPSERTED_KEYS):
        upserted = await asyncio.gather(
            *(
                db["upserts"].find_one_and_update(
                    {"_id": f"key-{key}"},
                    {"$setOnInsert": {"created_by": w}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                for w, db in enumerate(writers)
            )
        )
        creators = {document["created_by"] for document in upserted if document is not None}
        assert len(creators) == 1, f"key-{key} was created by {sorted(creators)}"
        assert all(document is not None for document in upserted)

    assert await database["upserts"].count_documents({}) == UPSERTED_KEYS


async def test_concurrent_replacing_upserts_leave_one_whole_document(
    database: Database, writers: list[Database]
) -> None:
    # The customer directory's PUT: replace_one(upsert=True) of the whole document.
    for key in range(UPSERTED_KEYS):
        await asyncio.gather(
            *(
                db["customers"].replace_one(
                    {"_id": f"cust-{key}"},
                    {"_id": f"cust-{key}", "name": f"w{w}", f"field_w{w}": w},
                    upsert=True,
                )
                for w, db in enumerate(writers)
            )
        )

    documents = [d async for d in database["customers"].find({})]
    assert len(documents) == UPSERTED_KEYS
    for document in documents:
        writer = int(document["name"].removeprefix("w"))
        assert document == {
            "_id": document["_id"],
            "name": f"w{writer}",
            f"field_w{writer}": writer,
        }


RESHAPED_DOCUMENTS = 2
RESHAPES_PER_WRITER = 60
WIDE_FIELDS = 2000


async def test_updates_that_add_and_remove_fields_while_others_commit_keep_the_store_whole(
    database: Database, writers: list[Database]
) -> None:
    """Updates that change a document's shape ($set of a new field, $unset of the last), side
    by side with inserts elsewhere that commit the store: what a broadcast's progress records
    and the notifications beside them see. The server must stay up and keep every write."""
    wide = {f"field_{n:03d}": "x" * 40 for n in range(WIDE_FIELDS)}
    await database["shaped"].insert_many([{"_id": n, **wide} for n in range(RESHAPED_DOCUMENTS)])

    async def reshape(writer: int, db: Database) -> None:
        for step in range(RESHAPES_PER_WRITER):
            target = writer % RESHAPED_DOCUMENTS
            change: Document = {"$set": {f"w{writer:02d}_{step:03d}": step}}
            if step:
                change["$unset"] = {f"w{writer:02d}_{step - 1:03d}": ""}
            await db["shaped"].update_one({"_id": target}, change)
            await db["beside"].insert_one({"writer": writer, "step": step, **wide})

    await asyncio.gather(*(reshape(w, db) for w, db in enumerate(writers)))

    assert (await database.command("ping"))["ok"] == 1
    documents = [d async for d in database["shaped"].find({})]
    written = {key for d in documents for key in d if key.startswith("w")}
    # Each writer's last field stays on its document; every earlier one was unset.
    assert written == {f"w{w:02d}_{RESHAPES_PER_WRITER - 1:03d}" for w in range(WRITERS)}
    assert all(sum(key.startswith("field_") for key in d) == WIDE_FIELDS for d in documents)
    assert await database["beside"].count_documents({}) == WRITERS * RESHAPES_PER_WRITER
