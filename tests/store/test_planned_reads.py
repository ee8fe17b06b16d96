"""Reads the store plans on an index return exactly what a full scan would: a sorted, limited
walk along an index (ties broken by the rest of the sort), the union of an `$or`'s clauses, an
anchored regex prefix, and ranges with either bound open."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from shared.mongo import Database, Document

pytestmark = pytest.mark.store

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
RANGES = ["+3491", "+34911", "+349112", "+3493", "+44207", "+4420", "+1212", "+34"]


def ticket(number: int, rng: random.Random) -> Document:
    return {
        "_id": f"T-{number:04d}",
        "created_at": T0 + timedelta(minutes=rng.randrange(40)),  # many ties
        "status": rng.choice(["opened", "resolved", "closed"]),
        "region": rng.choice(["eu-south", "eu-west", "us-east"]),
        "number_ranges": rng.sample(RANGES, rng.randrange(0, 3)),
        "priority": rng.randrange(1, 5),
    }


@pytest.fixture
async def tickets(database: Database) -> list[Document]:
    rng = random.Random(7)
    documents = [ticket(n, rng) for n in range(400)]
    collection = database["tickets"]
    for key in ("created_at", "status", "region", "number_ranges", "priority"):
        await collection.create_index(key)
    await collection.insert_many(documents)
    return documents


def newest_first(documents: list[Document]) -> list[str]:
    ordered = sorted(documents, key=lambda d: d["_id"])
    ordered.sort(key=lambda d: d["created_at"], reverse=True)
    return [d["_id"] for d in ordered]


@pytest.mark.parametrize("limit", [1, 7, 50, 399, 400, 1000])
async def test_newest_first_with_a_limit_is_the_head_of_the_full_sort(
    database: Database, tickets: list[Document], limit: int
) -> None:
    sort = [("created_at", -1), ("_id", 1)]
    found = [d["_id"] async for d in database["tickets"].find({}, sort=sort, limit=limit)]

    assert found == newest_first(tickets)[:limit]


async def test_a_filtered_walk_skips_what_does_not_match(
    database: Database, tickets: list[Document]
) -> None:
    query = {"priority": {"$ne": 1}, "number_ranges.1": {"$exists": True}}
    sort = [("created_at", -1), ("_id", 1)]
    found = [d["_id"] async for d in database["tickets"].find(query, sort=sort, skip=3, limit=20)]

    matching = [t for t in tickets if t["priority"] != 1 and len(t["number_ranges"]) > 1]
    assert found == newest_first(matching)[3:23]


async def test_ids_in_order_with_a_limit(database: Database, tickets: list[Document]) -> None:
    ascending = [d["_id"] async for d in database["tickets"].find({}, sort=[("_id", 1)], limit=9)]
    descending = [d["_id"] async for d in database["tickets"].find({}, sort=[("_id", -1)], limit=9)]

    ids = sorted(t["_id"] for t in tickets)
    assert ascending == ids[:9]
    assert descending == ids[::-1][:9]


async def test_an_or_of_indexed_clauses_finds_each_match_once(
    database: Database, tickets: list[Document]
) -> None:
    query = {
        "$or": [
            {"region": {"$in": ["eu-south"]}},
            {"_id": {"$in": ["T-0001", "T-0002"]}},
            {"number_ranges": {"$in": ["+34", "+349"]}},
            {"number_ranges": {"$regex": "^\\+3491"}},
        ]
    }
    found = sorted([d["_id"] async for d in database["tickets"].find(query)])

    expected = sorted(
        t["_id"]
        for t in tickets
        if t["region"] == "eu-south"
        or t["_id"] in ("T-0001", "T-0002")
        or {"+34", "+349"} & set(t["number_ranges"])
        or any(r.startswith("+3491") for r in t["number_ranges"])
    )
    assert found == expected


@pytest.mark.parametrize("prefix", ["+34", "+3491", "+4420", "+9", "+"])
async def test_an_anchored_prefix_finds_every_value_that_starts_with_it(
    database: Database, tickets: list[Document], prefix: str
) -> None:
    pattern = "^" + prefix.replace("+", "\\+")
    found = sorted(
        [d["_id"] async for d in database["tickets"].find({"number_ranges": {"$regex": pattern}})]
    )

    expected = sorted(
        t["_id"] for t in tickets if any(r.startswith(prefix) for r in t["number_ranges"])
    )
    assert found == expected


@pytest.mark.parametrize(
    "bounds",
    [{"$gt": 2}, {"$gte": 2}, {"$lt": 3}, {"$lte": 3}, {"$gt": 1, "$lt": 4}, {"$gte": 2.5}],
    ids=str,
)
async def test_a_range_finds_exactly_the_values_inside_it(
    database: Database, tickets: list[Document], bounds: Document
) -> None:
    found = sorted([d["_id"] async for d in database["tickets"].find({"priority": bounds})])

    checks = {
        "$gt": lambda v, b: v > b,
        "$gte": lambda v, b: v >= b,
        "$lt": lambda v, b: v < b,
        "$lte": lambda v, b: v <= b,
    }
    expected = sorted(
        t["_id"]
        for t in tickets
        if all(checks[op](t["priority"], bound) for op, bound in bounds.items())
    )
    assert found == expected


@pytest.mark.parametrize(
    ("query", "sort", "skip"),
    [
        ({"status": "closed"}, [("created_at", -1), ("_id", 1)], 0),
        ({"status": "closed"}, [("created_at", 1), ("_id", -1)], 5),
        ({"status": "closed", "region": "eu-west"}, [("created_at", -1), ("_id", 1)], 0),
        ({"status": {"$in": ["opened", "closed"]}}, [("created_at", -1), ("_id", 1)], 0),
    ],
    ids=["newest", "oldest-skipped", "newest-also-filtered", "newest-of-two"],
)
async def test_a_sorted_read_of_many_matches_is_the_head_of_the_full_sort(
    database: Database, query: Document, sort: list[tuple[str, int]], skip: int
) -> None:
    rng = random.Random(11)
    collection = database["many"]
    await collection.create_index([("status", 1), ("created_at", -1)])
    documents = [
        {
            "_id": f"T-{n:05d}",
            "status": "closed" if n % 5 else "opened",
            "region": rng.choice(["eu-south", "eu-west"]),
            "created_at": T0 + timedelta(seconds=rng.randrange(300)),
        }
        for n in range(2_000)
    ]
    await collection.insert_many(documents)

    found = [d["_id"] async for d in collection.find(query, sort=sort, skip=skip, limit=50)]

    everything = [d["_id"] async for d in collection.find(query, sort=sort)]
    assert found == everything[skip : skip + 50]
    assert len(found) == 50
