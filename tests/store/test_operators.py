"""Every update operator, query operator and aggregation stage the services use, and the find,
insert and count options they rely on, each checked against the documents it must produce.

Only what `services/` and `shared/` actually send is listed; each row names where it is used.
"""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import pytest
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.mongo import Database, Document

pytestmark = pytest.mark.store

DUPLICATE_KEY = 11000
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


class UpdateCase(NamedTuple):
    name: str
    before: Document
    update: Document
    after: Document


UPDATES = [
    UpdateCase(  # every save of an aggregate, take_over, lease_due
        "$set sets fields and adds missing ones",
        {"_id": "x", "status": "opened", "version": 1},
        {"$set": {"status": "triaged", "version": 2, "owner": "n-1"}},
        {"_id": "x", "status": "triaged", "version": 2, "owner": "n-1"},
    ),
    UpdateCase(  # customers.set_contact_fields
        "$set on a positional path changes that array element only",
        {"_id": "x", "contacts": [{"contact_id": "a", "lang": "en"}, {"contact_id": "b"}]},
        {"$set": {"contacts.1.lang": "de", "contacts.1.email": "b@example.com"}},
        {
            "_id": "x",
            "contacts": [
                {"contact_id": "a", "lang": "en"},
                {"contact_id": "b", "lang": "de", "email": "b@example.com"},
            ],
        },
    ),
    UpdateCase(  # BroadcastStore.complete
        "$set replaces an array and sets nested documents whole",
        {"_id": "x", "stored": ["n-1", "n-2"], "completed_at": None},
        {"$set": {"stored": [], "completed_at": at(5), "clocks": {"a": {"due": at(9)}}}},
        {"_id": "x", "stored": [], "completed_at": at(5), "clocks": {"a": {"due": at(9)}}},
    ),
    UpdateCase(  # notifier store: attempts
        "$inc adds to a number",
        {"_id": "x", "attempts": 2},
        {"$inc": {"attempts": 1}},
        {"_id": "x", "attempts": 3},
    ),
    UpdateCase(
        "$inc on a missing field starts from zero",
        {"_id": "x"},
        {"$inc": {"attempts": 1}},
        {"_id": "x", "attempts": 1},
    ),
    UpdateCase(  # notifier store: outcomes, digest
        "$push appends one value",
        {"_id": "x", "outcomes": [{"ok": False}]},
        {"$push": {"outcomes": {"ok": True, "at": at(1)}}},
        {"_id": "x", "outcomes": [{"ok": False}, {"ok": True, "at": at(1)}]},
    ),
    UpdateCase(
        "$push on a missing field creates the array",
        {"_id": "x"},
        {"$push": {"digest": {"_id": "n-2"}}},
        {"_id": "x", "digest": [{"_id": "n-2"}]},
    ),
    UpdateCase(  # aggregate save: events and outbox in one update
        "$push with $each appends every value, to two arrays at once",
        {"_id": "x", "events": [{"event_id": "e1"}], "outbox_pending": []},
        {
            "$push": {
                "events": {"$each": [{"event_id": "e2"}, {"event_id": "e3"}]},
                "outbox_pending": {"$each": ["e2", "e3"]},
            }
        },
        {
            "_id": "x",
            "events": [{"event_id": "e1"}, {"event_id": "e2"}, {"event_id": "e3"}],
            "outbox_pending": ["e2", "e3"],
        },
    ),
    UpdateCase(
        "$push with an empty $each changes nothing but creates the array",
        {"_id": "x", "events": ["e1"]},
        {"$push": {"events": {"$each": []}, "outbox_pending": {"$each": []}}},
        {"_id": "x", "events": ["e1"], "outbox_pending": []},
    ),
    UpdateCase(  # AggregateDocuments.mark_published
        "$pullAll removes every occurrence of each value and ignores absent ones",
        {"_id": "x", "outbox_pending": ["e1", "e2", "e1", "e3"]},
        {"$pullAll": {"outbox_pending": ["e1", "e3", "e9"]}},
        {"_id": "x", "outbox_pending": ["e2"]},
    ),
    UpdateCase(  # record_delivered / record_failed_attempt
        "$set, $inc and $push together in one update",
        {"_id": "x", "status": "pending", "attempts": 0, "outcomes": []},
        {
            "$set": {"status": "delivered", "events_owed": True},
            "$inc": {"attempts": 1},
            "$push": {"outcomes": {"ok": True}},
        },
        {
            "_id": "x",
            "status": "delivered",
            "attempts": 1,
            "outcomes": [{"ok": True}],
            "events_owed": True,
        },
    ),
]


@pytest.mark.parametrize("case", UPDATES, ids=[case.name for case in UPDATES])
async def test_update_operator_produces_the_expected_document(
    database: Database, case: UpdateCase
) -> None:
    await database["docs"].insert_one(dict(case.before))

    result = await database["docs"].update_one({"_id": "x"}, case.update)

    assert (result.matched_count, result.modified_count) == (1, 1)
    assert await database["docs"].find_one({"_id": "x"}) == case.after


async def test_update_guarded_by_a_positional_path_changes_nothing_when_the_guard_fails(
    database: Database,
) -> None:
    # set_contact_fields: the contact moved, so matched_count 0 tells the caller to retry.
    before = {"_id": "x", "contacts": [{"contact_id": "b"}, {"contact_id": "a"}]}
    await database["docs"].insert_one(dict(before))

    moved = await database["docs"].update_one(
        {"_id": "x", "contacts.0.contact_id": "a"}, {"$set": {"contacts.0.lang": "de"}}
    )
    still = await database["docs"].update_one(
        {"_id": "x", "contacts.1.contact_id": "a"}, {"$set": {"contacts.1.lang": "de"}}
    )

    assert moved.matched_count == 0
    assert still.matched_count == 1
    assert await database["docs"].find_one({"_id": "x"}) == {
        "_id": "x",
        "contacts": [{"contact_id": "b"}, {"contact_id": "a", "lang": "de"}],
    }


# Documents the query operators are checked against; `e` and `f` share a creation time, as
# notifications of one broadcast do.
QUERIED: list[Document] = [
    {
        "_id": "a",
        "status": "opened",
        "priority": "p1",
        "created_at": at(0),
        "teams": ["level_1_support", "numbering"],
        "outbox_pending": ["e1"],
        "leased_at": None,
        "digest": [{"_id": "n1"}, {"_id": "n2"}],
        "clocks": {"first_response_breached": True, "resolution_breached": False},
        "services": {"regions": ["eu-west", "us-east"], "number_ranges": ["+4420", "+3312"]},
        "contacts": [{"contact_id": "c1"}, {"contact_id": "c2"}],
        "events_owed": True,
    },
    {
        "_id": "b",
        "status": "triaged",
        "priority": "p2",
        "created_at": at(10),
        "teams": ["numbering"],
        "outbox_pending": [],
        "leased_at": at(11),
        "digest": [],
        "clocks": {"first_response_breached": False, "resolution_breached": True},
        "services": {"regions": ["ap-south"], "number_ranges": ["+4420799"]},
        "contacts": [{"contact_id": "c2"}],
        "events_owed": False,
    },
    {
        "_id": "c",
        "status": "resolved",
        "priority": "p1",
        "created_at": at(20),
        "teams": ["provisioning"],
        "services": {"regions": ["us-east"], "number_ranges": ["+4421"]},
        "contacts": [{"contact_id": "c3"}, {"contact_id": "c1"}],
    },
    {
        "_id": "d",
        "status": "opened",
        "priority": "p3",
        "created_at": at(30),
        "teams": [],
        "outbox_pending": ["e4", "e5"],
        "leased_at": None,
        "digest": [{"_id": "n3"}],
        "clocks": {"first_response_breached": False},
        "services": {"regions": [], "number_ranges": ["+44"]},
        "contacts": [],
        "events_owed": True,
    },
    {"_id": "e", "status": "closed", "priority": "p4", "created_at": at(40), "contacts": []},
    {"_id": "f", "status": "closed", "priority": "p4", "created_at": at(40), "contacts": []},
]


class QueryCase(NamedTuple):
    name: str
    query: Document
    expected: list[str]  # ids of the documents found, in _id order


QUERIES = [
    QueryCase("equality on a field", {"status": "opened"}, ["a", "d"]),
    QueryCase("equality on several fields at once", {"status": "opened", "priority": "p1"}, ["a"]),
    QueryCase(  # open statuses of the workflow
        "$in on a field", {"status": {"$in": ["opened", "triaged", "waiting"]}}, ["a", "b", "d"]
    ),
    QueryCase(  # directory.services_of, narrowing_filter's customer ids
        "$in on _id", {"_id": {"$in": ["c", "a", "zz"]}}, ["a", "c"]
    ),
    QueryCase(  # narrowing_filter
        "$in on a dotted path into an array",
        {"services.regions": {"$in": ["ap-south", "us-east"]}},
        ["a", "b", "c"],
    ),
    QueryCase(  # tickets by team
        "equality on an array element", {"teams": "numbering"}, ["a", "b"]
    ),
    QueryCase(  # customers by region
        "equality on a dotted path into an array", {"services.regions": "us-east"}, ["a", "c"]
    ),
    QueryCase(  # set_contact_fields' guard
        "equality on a positional array path", {"contacts.1.contact_id": "c1"}, ["c"]
    ),
    QueryCase(  # fold_into_held: never leased
        "equality with None matches null and missing fields",
        {"leased_at": None},
        ["a", "c", "d", "e", "f"],
    ),
    QueryCase(  # events_owed
        "equality on a boolean", {"events_owed": True}, ["a", "d"]
    ),
    QueryCase("$lt on datetimes is strict", {"created_at": {"$lt": at(10)}}, ["a"]),
    QueryCase(  # due timers, due deliveries
        "$lte on datetimes includes the bound", {"created_at": {"$lte": at(10)}}, ["a", "b"]
    ),
    QueryCase(  # count_similar's window
        "$gt and $lte together form a half-open window",
        {"created_at": {"$gt": at(10), "$lte": at(30)}},
        ["c", "d"],
    ),
    QueryCase("$gt on strings compares them in order", {"_id": {"$gt": "d"}}, ["e", "f"]),
    QueryCase(
        "$ne None matches the fields that are set only",
        {"leased_at": {"$ne": None}},
        ["b"],
    ),
    QueryCase(  # not breached
        "$ne True matches False and missing fields",
        {
            "clocks.first_response_breached": {"$ne": True},
            "clocks.resolution_breached": {"$ne": True},
        },
        ["c", "d", "e", "f"],
    ),
    QueryCase(  # fold_into_held: not folded already
        "$ne on a path into an array of documents matches when no element equals",
        {"digest._id": {"$ne": "n2"}},
        ["b", "c", "d", "e", "f"],
    ),
    QueryCase(  # the outbox relay
        "$exists on the first array element finds non-empty arrays only",
        {"outbox_pending.0": {"$exists": True}},
        ["a", "d"],
    ),
    QueryCase(  # breached
        "$or of equalities on dotted paths",
        {"$or": [{"clocks.first_response_breached": True}, {"clocks.resolution_breached": True}]},
        ["a", "b"],
    ),
    QueryCase(  # the in-app feed after a position
        "$or beside another field breaks a tie on _id",
        {
            "status": "closed",
            "$or": [{"created_at": {"$gt": at(40)}}, {"created_at": at(40), "_id": {"$gt": "e"}}],
        },
        ["f"],
    ),
    QueryCase(  # narrowing_filter's number ranges
        "$regex anchored at the start, on an array field",
        {"services.number_ranges": {"$regex": f"^{re.escape('+4420')}"}},
        ["a", "b"],
    ),
    QueryCase(  # narrowing_filter as a whole
        "$or of $in and $regex clauses",
        {
            "$or": [
                {"services.regions": {"$in": ["ap-south"]}},
                {"_id": {"$in": ["e"]}},
                {"services.number_ranges": {"$in": ["+44", "+442"]}},
                {"services.number_ranges": {"$regex": f"^{re.escape('+4421')}"}},
            ]
        },
        ["b", "c", "d", "e"],
    ),
]


@pytest.mark.parametrize("case", QUERIES, ids=[case.name for case in QUERIES])
async def test_query_operator_finds_exactly_the_matching_documents(
    database: Database, case: QueryCase
) -> None:
    await database["docs"].insert_many([dict(document) for document in QUERIED])

    found = [
        d["_id"] async for d in database["docs"].find(case.query, {"_id": 1}, sort=[("_id", 1)])
    ]

    assert found == case.expected
    assert await database["docs"].count_documents(case.query) == len(case.expected)


async def test_match_and_group_count_per_compound_key(database: Database) -> None:
    # incident_queries: notifications of an incident per event and status.
    rows = [
        ("inc-1", "ev-1", "declared", "delivered"),
        ("inc-1", "ev-1", "declared", "delivered"),
        ("inc-1", "ev-1", "declared", "failed"),
        ("inc-1", "ev-2", "updated", "pending"),
        ("inc-2", "ev-3", "declared", "delivered"),
    ]
    await database["notifications"].insert_many(
        [
            {"_id": f"n{i}", "incident_id": i_id, "event_id": ev, "event_type": kind, "status": st}
            for i, (i_id, ev, kind, st) in enumerate(rows)
        ]
    )
    by_event_and_status: Document = {
        "_id": {"event_id": "$event_id", "event_type": "$event_type", "status": "$status"},
        "count": {"$sum": 1},
    }

    pipeline = [{"$match": {"incident_id": "inc-1"}}, {"$group": by_event_and_status}]
    cursor = await database["notifications"].aggregate(pipeline)
    counted = {
        (r["_id"]["event_id"], r["_id"]["event_type"], r["_id"]["status"]): r["count"]
        async for r in cursor
    }
    missing = await database["notifications"].aggregate(
        [{"$match": {"incident_id": "inc-9"}}, {"$group": by_event_and_status}]
    )

    assert counted == {
        ("ev-1", "declared", "delivered"): 2,
        ("ev-1", "declared", "failed"): 1,
        ("ev-2", "updated", "pending"): 1,
    }
    assert [row async for row in missing] == []


async def test_count_documents_counts_the_matching_documents(database: Database) -> None:
    await database["tickets"].insert_many(
        [{"_id": f"t{i}", "incident_id": "inc-1" if i % 3 == 0 else "inc-2"} for i in range(30)]
    )

    assert await database["tickets"].count_documents({"incident_id": "inc-1"}) == 10
    assert await database["tickets"].count_documents({"incident_id": "inc-2"}) == 20
    assert await database["tickets"].count_documents({"incident_id": "inc-3"}) == 0
    assert await database["tickets"].count_documents({}) == 30


async def test_insert_many_unordered_stores_all_but_the_duplicates_and_names_them(
    database: Database,
) -> None:
    # The notifier adds a broadcast's notifications again after a crash: the known ones fail,
    # and it tells the new ones by the indexes of the write errors.
    await database["notifications"].insert_one({"_id": "n2", "body": "first"})
    batch = [{"_id": n, "body": "again"} for n in ["n1", "n2", "n3", "n1", "n4"]]

    with pytest.raises(BulkWriteError) as raised:
        await database["notifications"].insert_many(batch, ordered=False)

    errors = raised.value.details["writeErrors"]
    assert sorted(error["index"] for error in errors) == [1, 3]
    assert {error["code"] for error in errors} == {DUPLICATE_KEY}
    stored = {d["_id"]: d["body"] async for d in database["notifications"].find({})}
    assert stored == {"n1": "again", "n2": "first", "n3": "again", "n4": "again"}


async def test_insert_many_unordered_counts_only_the_documents_it_stored(
    database: Database, embedded_gap: Callable[[str], None]
) -> None:
    embedded_gap(
        "the insert command answers n = the batch size, duplicates included "
        "(5 for 3 stored and 2 refused; MongoDB answers 3)"
    )
    await database["notifications"].insert_one({"_id": "n2"})
    batch = [{"_id": n} for n in ["n1", "n2", "n3", "n1", "n4"]]

    with pytest.raises(BulkWriteError) as raised:
        await database["notifications"].insert_many(batch, ordered=False)

    assert raised.value.details["nInserted"] == 3
    assert await database["notifications"].count_documents({}) == 4


async def test_insert_one_of_a_known_id_is_a_duplicate_key_error(database: Database) -> None:
    await database["claims"].insert_one({"_id": "t1:2026", "until": at(1)})

    with pytest.raises(DuplicateKeyError) as raised:
        await database["claims"].insert_one({"_id": "t1:2026", "until": at(2)})

    assert raised.value.code == DUPLICATE_KEY
    assert await database["claims"].find_one({"_id": "t1:2026"}) == {
        "_id": "t1:2026",
        "until": at(1),
    }


async def test_find_one_and_update_takes_the_first_by_sort_and_returns_before_or_after(
    database: Database,
) -> None:
    # lease_due and fold_into_held: the earliest due one is claimed.
    await database["notifications"].insert_many(
        [
            {"_id": "late", "status": "pending", "next_attempt_at": at(9)},
            {"_id": "early", "status": "pending", "next_attempt_at": at(1)},
            {"_id": "mid", "status": "pending", "next_attempt_at": at(5)},
            {"_id": "future", "status": "pending", "next_attempt_at": at(60)},
        ]
    )
    due = {"status": "pending", "next_attempt_at": {"$lte": at(10)}}
    lease: Document = {"$set": {"next_attempt_at": at(40), "leased_at": at(10)}}

    after = await database["notifications"].find_one_and_update(
        due, lease, sort=[("next_attempt_at", 1)], return_document=ReturnDocument.AFTER
    )
    before = await database["notifications"].find_one_and_update(
        due, lease, sort=[("next_attempt_at", 1)]
    )
    last = await database["notifications"].find_one_and_update(
        due, lease, sort=[("next_attempt_at", 1)]
    )
    none_left = await database["notifications"].find_one_and_update(
        due, lease, sort=[("next_attempt_at", 1)]
    )

    assert after == {
        "_id": "early",
        "status": "pending",
        "next_attempt_at": at(40),
        "leased_at": at(10),
    }
    assert before == {"_id": "mid", "status": "pending", "next_attempt_at": at(5)}
    assert last is not None
    assert last["_id"] == "late"
    assert none_left is None
    assert await database["notifications"].count_documents({"leased_at": at(10)}) == 3


async def test_sort_and_limit_return_the_first_documents_in_order(database: Database) -> None:
    await database["docs"].insert_many([dict(document) for document in QUERIED])
    docs = database["docs"]

    newest = [d["_id"] async for d in docs.find({}, sort=[("created_at", -1)], limit=3)]
    feed = [d["_id"] async for d in docs.find({}, sort=[("created_at", 1), ("_id", 1)], limit=6)]
    feed_back = [
        d["_id"] async for d in docs.find({}, sort=[("created_at", -1), ("_id", -1)], limit=2)
    ]
    newest_open = await docs.find_one({"status": "opened"}, sort=[("created_at", -1)])
    limited = [d["_id"] async for d in docs.find({"priority": "p4"}, sort=[("_id", 1)], limit=1)]

    assert newest[0] in {"e", "f"}
    assert set(newest[:2]) == {"e", "f"}
    assert newest[2] == "d"
    assert feed == ["a", "b", "c", "d", "e", "f"]
    assert feed_back == ["f", "e"]
    assert newest_open is not None
    assert newest_open["_id"] == "d"
    assert limited == ["e"]


class ProjectionCase(NamedTuple):
    name: str
    projection: Document
    expected: Document


STORED: Document = {
    "_id": "t1",
    "status": "opened",
    "request_hash": "abc",
    "events": [{"event_id": "e1"}],
    "outbox_pending": ["e1"],
    "services": {"regions": ["eu-west"]},
    "next_timer_at": at(3),
}
PROJECTIONS = [
    ProjectionCase(  # request_hash lookups
        "inclusion keeps the named fields and _id",
        {"request_hash": 1},
        {"_id": "t1", "request_hash": "abc"},
    ),
    ProjectionCase(  # the open tickets linked to an incident
        "_id alone", {"_id": 1}, {"_id": "t1"}
    ),
    ProjectionCase(  # scope matching, the webhook directory
        "inclusion of several fields, nested documents whole",
        {"services": 1, "next_timer_at": 1},
        {"_id": "t1", "services": {"regions": ["eu-west"]}, "next_timer_at": at(3)},
    ),
    ProjectionCase(  # WITHOUT_HISTORY
        "exclusion drops the named fields, missing ones too",
        {"events": 0, "outbox_pending": 0, "deliveries": 0},
        {
            "_id": "t1",
            "status": "opened",
            "request_hash": "abc",
            "services": {"regions": ["eu-west"]},
            "next_timer_at": at(3),
        },
    ),
]


@pytest.mark.parametrize("case", PROJECTIONS, ids=[case.name for case in PROJECTIONS])
async def test_projection_returns_exactly_the_projected_fields(
    database: Database, case: ProjectionCase
) -> None:
    await database["tickets"].insert_one(dict(STORED))

    found = await database["tickets"].find_one({"_id": "t1"}, case.projection)
    listed = [d async for d in database["tickets"].find({"status": "opened"}, case.projection)]

    assert found == case.expected
    assert listed == [case.expected]


async def test_replace_one_upsert_inserts_then_replaces_the_whole_document(
    database: Database,
) -> None:
    customers = database["customers"]

    inserted = await customers.replace_one(
        {"_id": "cust-1"}, {"_id": "cust-1", "name": "Acme", "tier": "gold"}, upsert=True
    )
    replaced = await customers.replace_one(
        {"_id": "cust-1"}, {"_id": "cust-1", "name": "Acme Ltd"}, upsert=True
    )

    assert inserted.upserted_id == "cust-1"
    assert (replaced.matched_count, replaced.upserted_id) == (1, None)
    assert [d async for d in customers.find({})] == [{"_id": "cust-1", "name": "Acme Ltd"}]
