"""Indexes: unique ones refuse duplicates, `ensure_indexes` is repeatable, every read the API
serves is planned on an index, and a secondary index finds exactly the right documents while
they are inserted, changed and deleted."""

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import pytest
from bson.int64 import Int64
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.intake.customers.directory import services_query
from services.intake.customers.schemas import CustomerFilters
from shared.incidents import ranges_overlap
from shared.mongo import Collections, Database, Document, ensure_indexes
from tests.store.support import (
    Sort,
    explain_find,
    filter_fields,
    index_scans,
    scanned_key_patterns,
    stage_names,
    winning_plan,
)

pytestmark = pytest.mark.store

DUPLICATE_KEY = 11000
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- unique indexes ------------------------------------------------------------------------


async def test_unique_index_refuses_a_duplicate_insert(database: Database) -> None:
    keys = database["keys"]
    await keys.create_index("email", unique=True)
    await keys.insert_one({"_id": 1, "email": "a@example.com"})

    with pytest.raises(DuplicateKeyError) as raised:
        await keys.insert_one({"_id": 2, "email": "a@example.com"})
    await keys.insert_one({"_id": 3, "email": "b@example.com"})

    assert raised.value.code == DUPLICATE_KEY
    assert [d["_id"] async for d in keys.find({}, sort=[("_id", 1)])] == [1, 3]


async def test_unique_index_takes_equal_numbers_as_one_value(database: Database) -> None:
    keys = database["keys"]
    await keys.create_index("number", unique=True)
    await keys.insert_one({"_id": "int", "number": 1})

    for same in (1.0, Int64(1)):
        with pytest.raises(DuplicateKeyError):
            await keys.insert_one({"_id": f"as {type(same).__name__}", "number": same})
    await keys.insert_one({"_id": "two", "number": 2.5})

    assert await keys.count_documents({}) == 2


async def test_unique_index_takes_a_missing_field_as_null_unless_sparse(database: Database) -> None:
    dense, sparse = database["dense"], database["sparse"]
    await dense.create_index("code", unique=True)
    await sparse.create_index("code", unique=True, sparse=True)
    await dense.insert_one({"_id": 1})
    await sparse.insert_many([{"_id": 1}, {"_id": 2}, {"_id": 3, "code": "x"}])

    with pytest.raises(DuplicateKeyError):
        await dense.insert_one({"_id": 2, "code": None})
    with pytest.raises(DuplicateKeyError):
        await sparse.insert_one({"_id": 4, "code": "x"})

    assert await sparse.count_documents({}) == 3


async def test_unique_index_refuses_an_update_to_a_taken_value(database: Database) -> None:
    keys = database["keys"]
    await keys.create_index("email", unique=True)
    await keys.insert_many([{"_id": 1, "email": "a@example.com"}, {"_id": 2, "email": "b@x.io"}])

    with pytest.raises(DuplicateKeyError):
        await keys.update_one({"_id": 2}, {"$set": {"email": "a@example.com"}})
    with pytest.raises(DuplicateKeyError):
        await keys.find_one_and_update({"_id": 2}, {"$set": {"email": "a@example.com"}})
    moved = await keys.update_one({"_id": 2}, {"$set": {"email": "c@example.com"}})

    assert moved.modified_count == 1
    assert [d async for d in keys.find({}, sort=[("_id", 1)])] == [
        {"_id": 1, "email": "a@example.com"},
        {"_id": 2, "email": "c@example.com"},
    ]
    assert await keys.count_documents({"email": "a@example.com"}) == 1


async def test_unique_compound_index_refuses_only_the_same_combination(
    database: Database,
) -> None:
    records = database["records"]
    await records.create_index([("ticket_id", 1), ("event_id", 1)], unique=True)
    await records.insert_many(
        [
            {"_id": 1, "ticket_id": "t1", "event_id": "e1"},
            {"_id": 2, "ticket_id": "t1", "event_id": "e2"},
            {"_id": 3, "ticket_id": "t2", "event_id": "e1"},
        ]
    )

    with pytest.raises(DuplicateKeyError):
        await records.insert_one({"_id": 4, "ticket_id": "t1", "event_id": "e2"})
    with pytest.raises(DuplicateKeyError):
        await records.update_one({"_id": 3}, {"$set": {"ticket_id": "t1"}})

    assert await records.count_documents({}) == 3
    assert await records.find_one({"_id": 3}) == {"_id": 3, "ticket_id": "t2", "event_id": "e1"}


async def test_a_known_id_is_refused_with_duplicate_key(database: Database) -> None:
    # Claims, chunks, plans and new aggregates are all taken by inserting a known _id.
    await database["chunks"].insert_one({"_id": "chunk-1", "owner": "a"})

    with pytest.raises(DuplicateKeyError) as raised:
        await database["chunks"].insert_one({"_id": "chunk-1", "owner": "b"})

    assert raised.value.code == DUPLICATE_KEY
    assert await database["chunks"].find_one({"_id": "chunk-1"}) == {"_id": "chunk-1", "owner": "a"}


# --- ensure_indexes ------------------------------------------------------------------------


async def index_snapshot(database: Database) -> dict[str, dict[str, Document]]:
    names = sorted(await database.list_collection_names())
    snapshot: dict[str, dict[str, Document]] = {}
    for name in names:
        info = await database[name].index_information()
        snapshot[name] = {
            index: {"key": spec["key"], "unique": spec.get("unique", False)}
            for index, spec in info.items()
        }
    return snapshot


async def test_ensure_indexes_twice_changes_nothing(database: Database) -> None:
    await ensure_indexes(database)
    first = await index_snapshot(database)
    await ensure_indexes(database)
    second = await index_snapshot(database)

    assert second == first
    assert len(first[Collections.TICKETS]) >= 8
    assert len(first[Collections.NOTIFICATIONS]) >= 5
    assert len(first[Collections.CUSTOMERS]) == 5
    assert first[Collections.TICKETS]["call_ids_1"]["key"] == [("call_ids", 1)]


# --- every read the API serves is planned on an index -----------------------------------------

OPEN = ["opened", "triaged", "investigating", "waiting_on_customer"]


class Read(NamedTuple):
    name: str
    collection: str
    query: Document
    sort: Sort | None = None


FEED: Document = {"customer_id": "CUST-01", "channel": "in_app"}
READS = [
    # services/intake/tickets/queries.py
    Read("ticket by id", Collections.TICKETS, {"_id": "T-0001"}),
    Read(
        "ticket by id in a customer's scope",
        Collections.TICKETS,
        {"_id": "T-0001", "customer_id": "CUST-01"},
    ),
    Read("tickets by call id", Collections.TICKETS, {"call_ids": "call-0003"}),
    Read("tickets of a customer", Collections.TICKETS, {"customer_id": "CUST-01"}),
    Read("tickets by status", Collections.TICKETS, {"status": "opened"}),
    Read("tickets in any of several statuses", Collections.TICKETS, {"status": {"$in": OPEN}}),
    Read("tickets by team", Collections.TICKETS, {"teams": "numbering"}),
    Read(
        "a customer's tickets by status",
        Collections.TICKETS,
        {"status": "triaged", "customer_id": "CUST-02"},
    ),
    Read(
        "tickets by call id in a customer's scope",
        Collections.TICKETS,
        {"call_ids": "call-0003", "customer_id": "CUST-03"},
    ),
    Read(
        "tickets due before a moment (also the scheduler's due timers)",
        Collections.TICKETS,
        {"next_timer_at": {"$lte": at(30)}},
    ),
    Read(
        "newest tickets, unfiltered",
        Collections.TICKETS,
        {},
        [("created_at", -1)],
    ),
    Read(
        "deliveries on a ticket's timeline", Collections.TICKET_DELIVERIES, {"ticket_id": "T-0001"}
    ),
    Read("notifications of a customer", Collections.NOTIFICATIONS, {"customer_id": "CUST-01"}),
    Read("a customer's in-app feed", Collections.NOTIFICATIONS, FEED),
    Read(
        "a customer's in-app notification by id",
        Collections.NOTIFICATIONS,
        {**FEED, "_id": "N-0001"},
    ),
    Read(
        "a customer's in-app feed after a position",
        Collections.NOTIFICATIONS,
        {
            **FEED,
            "$or": [
                {"created_at": {"$gt": at(3)}},
                {"created_at": at(3), "_id": {"$gt": "N-0003"}},
            ],
        },
    ),
    # services/intake/customers/directory.py
    Read("customer by id", Collections.CUSTOMERS, {"_id": "CUST-01"}),
    Read("customers by service region", Collections.CUSTOMERS, {"services.regions": "eu-west"}),
    Read(
        "customers by carrier route", Collections.CUSTOMERS, {"services.carrier_routes": "route-2"}
    ),
    Read("customers by number range", Collections.CUSTOMERS, {"services.number_ranges": "+4420"}),
    Read(
        "customers whose number ranges overlap one",
        Collections.CUSTOMERS,
        services_query(CustomerFilters(number_range="+442")),
    ),
    Read(
        "customers in a region whose number ranges overlap one",
        Collections.CUSTOMERS,
        services_query(CustomerFilters(region="eu-west", number_range="+44")),
    ),
    Read("customers by product", Collections.CUSTOMERS, {"services.products": "sip-trunk"}),
    Read(
        "customers by region and product",
        Collections.CUSTOMERS,
        {"services.regions": "us-east", "services.products": "sip-trunk"},
    ),
    Read(
        "customers, unfiltered, by id",
        Collections.CUSTOMERS,
        {},
        [("_id", 1)],
    ),
    # services/intake/incidents/queries.py
    Read("incident by id", Collections.INCIDENTS, {"_id": "INC-01"}),
    Read("incidents by status", Collections.INCIDENTS, {"status": "open"}),
    Read(
        "tickets linked to an incident (list and count)",
        Collections.TICKETS,
        {"incident_id": "INC-01"},
    ),
    Read("broadcasts of an incident", Collections.BROADCASTS, {"incident_id": "INC-01"}),
    Read(
        "notifications of an incident ($match of the counts)",
        Collections.NOTIFICATIONS,
        {"incident_id": "INC-01"},
    ),
    # services/intake/auth.py: every request
    Read("API key by hash", Collections.API_KEYS, {"_id": "key-hash-1"}),
    # the busiest background reads of the workflow and the notifier
    Read(
        "deliveries due",
        Collections.NOTIFICATIONS,
        {"status": "pending", "next_attempt_at": {"$lte": at(30)}},
    ),
    Read(
        "notifications still owing their events",
        Collections.NOTIFICATIONS,
        {"events_owed": True, "outcome_recorded_at": {"$lt": at(30)}},
    ),
    Read(
        "held notification to fold a new one into",
        Collections.NOTIFICATIONS,
        {
            "ticket_id": "T-0001",
            "contact_id": "c-1",
            "channel": "email",
            "status": "pending",
            "leased_at": None,
            "created_at": {"$lt": at(30)},
            "digest._id": {"$ne": "N-0009"},
        },
    ),
    Read(
        "similar tickets in a window (count)",
        Collections.TICKETS,
        {
            "category": "call_quality",
            "affected.region": "eu-west",
            "created_at": {"$gt": at(5), "$lte": at(30)},
        },
    ),
    Read(
        "open tickets linked to an incident",
        Collections.TICKETS,
        {"incident_id": "INC-01", "status": {"$in": OPEN}},
    ),
    Read(
        "customers an outage may hit",
        Collections.CUSTOMERS,
        {
            "$or": [
                {"services.regions": {"$in": ["eu-west"]}},
                {"_id": {"$in": ["CUST-09"]}},
                {"services.number_ranges": {"$in": ["+44", "+442"]}},
                {"services.number_ranges": {"$regex": "^\\+4420"}},
            ]
        },
    ),
]


async def seed(database: Database) -> None:
    """A few documents of each kind, shaped as the services write them."""
    regions, products = ["eu-west", "us-east", "ap-south"], ["sip-trunk", "numbers", "contact"]
    await database[Collections.TICKETS].insert_many(
        [
            {
                "_id": f"T-{i:04d}",
                "customer_id": f"CUST-{i % 10:02d}",
                "status": ["opened", "triaged", "investigating", "resolved", "closed"][i % 5],
                "priority": f"p{i % 4 + 1}",
                "teams": [["level_1_support"], ["numbering", "level_2_support"]][i % 2],
                "call_ids": [f"call-{i:04d}", f"call-{i + 1:04d}"],
                "created_at": at(i),
                "next_timer_at": at(i + 20) if i % 3 else None,
                "incident_id": f"INC-{i % 4:02d}" if i % 2 else None,
                "outbox_pending": [],
                "events": [{"event_id": f"e-{i}"}],
            }
            for i in range(60)
        ]
    )
    await database[Collections.NOTIFICATIONS].insert_many(
        [
            {
                "_id": f"N-{i:04d}",
                "customer_id": f"CUST-{i % 10:02d}",
                "ticket_id": f"T-{i % 60:04d}",
                "incident_id": f"INC-{i % 4:02d}",
                "contact_id": f"c-{i % 3}",
                "channel": ["email", "sms", "in_app", "webhook"][i % 4],
                "status": ["pending", "delivered", "failed"][i % 3],
                "created_at": at(i // 2),
                "next_attempt_at": at(i),
                "events_owed": i % 5 == 0,
                "outcome_recorded_at": at(i),
                "event_id": f"ev-{i % 7}",
                "event_type": "declared",
            }
            for i in range(80)
        ]
    )
    await database[Collections.TICKET_DELIVERIES].insert_many(
        [{"_id": f"D-{i}", "ticket_id": f"T-{i % 10:04d}", "occurred_at": at(i)} for i in range(30)]
    )
    await database[Collections.INCIDENTS].insert_many(
        [
            {"_id": f"INC-{i:02d}", "status": ["open", "resolved"][i % 2], "declared_at": at(i)}
            for i in range(12)
        ]
    )
    await database[Collections.BROADCASTS].insert_many(
        [
            {"_id": f"B-{i}", "incident_id": f"INC-{i % 12:02d}", "planned_at": at(i)}
            for i in range(24)
        ]
    )
    await database[Collections.CUSTOMERS].insert_many(
        [
            {
                "_id": f"CUST-{i:02d}",
                "name": f"Customer {i}",
                "contacts": [{"contact_id": "c-1"}],
                "services": {
                    "regions": [regions[i % 3], regions[(i + 1) % 3]],
                    "carrier_routes": [f"route-{i % 4}"],
                    "number_ranges": [f"+44{20 + i % 3}", f"+33{i}"],
                    "products": [products[i % 3]],
                },
            }
            for i in range(30)
        ]
    )
    await database[Collections.API_KEYS].insert_many(
        [{"_id": f"key-hash-{i}", "name": f"key {i}", "role": "agent"} for i in range(6)]
    )


@pytest.mark.parametrize("read", READS, ids=[read.name for read in READS])
async def test_read_is_planned_on_an_index(database: Database, read: Read) -> None:
    await ensure_indexes(database)
    await seed(database)

    explained = await explain_find(database, read.collection, read.query, read.sort)

    patterns = scanned_key_patterns(explained)
    assert patterns, f"no index scan in the winning plan {winning_plan(explained)}"
    # The index read is one that serves this filter (or this sort), not just any index.
    served = filter_fields(read.query) | {field for field, _ in read.sort or []}
    assert any(next(iter(pattern)) in served for pattern in patterns), patterns


async def test_explain_reports_no_index_scan_for_an_unindexed_field(database: Database) -> None:
    # The check above can fail: a filter on a field no index has is planned as a scan.
    await ensure_indexes(database)
    await seed(database)

    explained = await explain_find(database, Collections.TICKETS, {"priority": "p1"})

    assert index_scans(explained) == []
    assert "COLLSCAN" in stage_names(explained)


# --- a secondary index finds exactly the right documents -------------------------------------


async def ids_found(database: Database, collection: str, query: Document) -> list[str]:
    return [d["_id"] async for d in database[collection].find(query, {"_id": 1}, sort=[("_id", 1)])]


@pytest.mark.parametrize("number_range", ["+4", "+44", "+442", "+4421", "+4421999", "+331", "+5"])
async def test_customers_by_number_range_are_those_an_outage_of_it_would_hit(
    database: Database, number_range: str
) -> None:
    await ensure_indexes(database)
    await seed(database)
    everyone = [d async for d in database[Collections.CUSTOMERS].find({}, sort=[("_id", 1)])]
    hit = [
        d["_id"]
        for d in everyone
        if any(ranges_overlap(number_range, r) for r in d["services"]["number_ranges"])
    ]

    query = services_query(CustomerFilters(number_range=number_range))

    assert await ids_found(database, Collections.CUSTOMERS, query) == hit


async def test_array_element_equality_finds_exactly_the_tickets_holding_the_call_id(
    database: Database,
) -> None:
    await ensure_indexes(database)
    tickets: list[Document] = [
        {"_id": f"T-{i:02d}", "call_ids": [f"call-{i % 7}", f"call-{i % 5}", "call-shared"]}
        for i in range(35)
    ]
    tickets.append({"_id": "T-none", "call_ids": []})
    tickets.append({"_id": "T-scalar", "call_ids": "call-3"})
    await database[Collections.TICKETS].insert_many(tickets)

    for call in [f"call-{n}" for n in range(8)] + ["call-shared"]:
        # An array matches when an element equals the value; a scalar when it equals it.
        expected = sorted(
            t["_id"]
            for t in tickets
            if call == t["call_ids"] or (isinstance(t["call_ids"], list) and call in t["call_ids"])
        )
        assert await ids_found(database, Collections.TICKETS, {"call_ids": call}) == expected, call
    assert len(await ids_found(database, Collections.TICKETS, {"call_ids": "call-shared"})) == 35
    assert await ids_found(database, Collections.TICKETS, {"call_ids": "call-7"}) == []


async def test_dotted_path_equality_finds_exactly_the_customers_in_a_region(
    database: Database,
) -> None:
    await ensure_indexes(database)
    regions = ["eu-west", "us-east", "ap-south", "sa-east"]
    customers: list[Document] = [
        {"_id": f"C-{i:02d}", "services": {"regions": regions[i % 4 : i % 4 + 1 + i % 2]}}
        for i in range(40)
    ]
    customers.append({"_id": "C-no-services"})
    customers.append({"_id": "C-empty", "services": {"regions": []}})
    await database[Collections.CUSTOMERS].insert_many(customers)

    for region in regions:
        expected = sorted(
            c["_id"] for c in customers if region in c.get("services", {}).get("regions", [])
        )
        found = await ids_found(database, Collections.CUSTOMERS, {"services.regions": region})
        assert found == expected, region
        assert found, region
    in_query = {"services.regions": {"$in": ["eu-west", "sa-east"]}}
    assert len(await ids_found(database, Collections.CUSTOMERS, in_query)) == 20


async def test_compound_index_finds_by_its_prefix_and_by_both_keys(database: Database) -> None:
    await ensure_indexes(database)
    await database[Collections.NOTIFICATIONS].insert_many(
        [
            {"_id": f"N-{i:02d}", "customer_id": f"C-{i % 3}", "created_at": at(i // 6)}
            for i in range(30)
        ]
    )

    by_customer = await ids_found(database, Collections.NOTIFICATIONS, {"customer_id": "C-1"})
    both = await ids_found(
        database, Collections.NOTIFICATIONS, {"customer_id": "C-1", "created_at": at(2)}
    )

    assert by_customer == [f"N-{i:02d}" for i in range(30) if i % 3 == 1]
    assert both == [f"N-{i:02d}" for i in range(12, 18) if i % 3 == 1]


async def test_index_narrowing_still_applies_the_rest_of_the_filter(database: Database) -> None:
    await ensure_indexes(database)
    await database[Collections.NOTIFICATIONS].insert_many(
        [
            {"_id": f"N-{i:02d}", "customer_id": "C-1", "channel": ["email", "in_app"][i % 2]}
            for i in range(10)
        ]
    )

    feed = await ids_found(
        database, Collections.NOTIFICATIONS, {"customer_id": "C-1", "channel": "in_app"}
    )

    assert feed == [f"N-{i:02d}" for i in range(1, 10, 2)]


class RangeCase(NamedTuple):
    name: str
    query: Document
    expected: list[str]


# Ranges on indexed fields, as the scheduler, the notifier and the relay filter: bounds are
# exact, and null, missing and other types never fall inside a range of dates.
TIMED: list[Document] = [
    {"_id": "t00", "status": "pending", "next_attempt_at": at(0)},
    {"_id": "t05", "status": "pending", "next_attempt_at": at(5)},
    {"_id": "t10", "status": "pending", "next_attempt_at": at(10)},
    {"_id": "t10-sent", "status": "delivered", "next_attempt_at": at(10)},
    {"_id": "t15-failed", "status": "failed", "next_attempt_at": at(15)},
    {"_id": "t20", "status": "pending", "next_attempt_at": at(20)},
    {"_id": "null", "status": "pending", "next_attempt_at": None},
    {"_id": "missing", "status": "pending"},
    {"_id": "text", "status": "pending", "next_attempt_at": "2026-03-02T09:00:00Z"},
    {"_id": "number", "status": "pending", "next_attempt_at": 5},
]
RANGES = [
    RangeCase(
        "$lte includes the bound",
        {"next_attempt_at": {"$lte": at(10)}},
        ["t00", "t05", "t10", "t10-sent"],
    ),
    RangeCase("$lt excludes the bound", {"next_attempt_at": {"$lt": at(10)}}, ["t00", "t05"]),
    RangeCase(
        "$gt excludes the bound", {"next_attempt_at": {"$gt": at(10)}}, ["t15-failed", "t20"]
    ),
    RangeCase(
        "$gte includes the bound", {"next_attempt_at": {"$gte": at(15)}}, ["t15-failed", "t20"]
    ),
    RangeCase(
        "$gt and $lte form a window",
        {"next_attempt_at": {"$gt": at(0), "$lte": at(15)}},
        ["t05", "t10", "t10-sent", "t15-failed"],
    ),
    RangeCase(
        "an empty window finds nothing", {"next_attempt_at": {"$gt": at(5), "$lt": at(10)}}, []
    ),
    RangeCase(
        "equality on the first key, a range on the second",
        {"status": "pending", "next_attempt_at": {"$lte": at(10)}},
        ["t00", "t05", "t10"],
    ),
    RangeCase(
        "$in on the first key, a range on the second",
        {"status": {"$in": ["delivered", "failed"]}, "next_attempt_at": {"$gte": at(10)}},
        ["t10-sent", "t15-failed"],
    ),
    RangeCase(
        "a range of numbers finds numbers only", {"next_attempt_at": {"$lt": 10}}, ["number"]
    ),
]


@pytest.mark.parametrize("case", RANGES, ids=[case.name for case in RANGES])
async def test_range_on_an_indexed_field_finds_exactly_the_documents_inside(
    database: Database, case: RangeCase
) -> None:
    await ensure_indexes(database)  # (status, next_attempt_at) on notifications
    await database[Collections.NOTIFICATIONS].insert_many([dict(d) for d in TIMED])

    found = await ids_found(database, Collections.NOTIFICATIONS, case.query)

    assert found == sorted(case.expected)
    assert await database[Collections.NOTIFICATIONS].count_documents(case.query) == len(found)


async def test_equality_with_none_on_an_indexed_field_finds_null_and_missing(
    database: Database,
) -> None:
    await ensure_indexes(database)  # incident_id on tickets
    await database[Collections.TICKETS].insert_many(
        [
            {"_id": "null", "incident_id": None},
            {"_id": "missing"},
            {"_id": "linked", "incident_id": "INC-1"},
            {"_id": "other", "incident_id": "INC-2"},
        ]
    )

    unlinked = await ids_found(database, Collections.TICKETS, {"incident_id": None})
    either = await ids_found(
        database, Collections.TICKETS, {"incident_id": {"$in": [None, "INC-1"]}}
    )

    assert unlinked == ["missing", "null"]
    assert either == ["linked", "missing", "null"]
    assert await database[Collections.TICKETS].count_documents({"incident_id": None}) == 2


async def test_index_created_after_the_documents_finds_them(database: Database) -> None:
    await database[Collections.TICKETS].insert_many(
        [{"_id": f"T-{i}", "status": ["opened", "closed"][i % 2]} for i in range(10)]
    )
    await ensure_indexes(database)

    assert await ids_found(database, Collections.TICKETS, {"status": "closed"}) == [
        "T-1",
        "T-3",
        "T-5",
        "T-7",
        "T-9",
    ]


async def test_equality_on_an_indexed_number_matches_by_value_across_types(
    database: Database,
) -> None:
    await database["counters"].create_index("n")
    await database["counters"].insert_many(
        [
            {"_id": "int", "n": 1},
            {"_id": "float", "n": 1.0},
            {"_id": "long", "n": Int64(1)},
            {"_id": "two", "n": 2},
            {"_id": "text", "n": "1"},
        ]
    )

    assert await ids_found(database, "counters", {"n": 1}) == ["float", "int", "long"]
    assert await ids_found(database, "counters", {"n": 1.0}) == ["float", "int", "long"]
    assert await ids_found(database, "counters", {"n": "1"}) == ["text"]


class Change(NamedTuple):
    name: str
    collection: str
    before: Document
    old: Document  # a query that finds the document before the change only
    new: Document  # a query that finds it after the change only
    update: Document | None  # None: the document is replaced by `replacement`
    replacement: Document | None = None


CHANGES = [
    Change(
        "$set of an indexed field",
        Collections.TICKETS,
        {"_id": "x", "status": "opened"},
        {"status": "opened"},
        {"status": "triaged"},
        {"$set": {"status": "triaged"}},
    ),
    Change(
        "$set of an indexed dotted path",
        Collections.CUSTOMERS,
        {"_id": "x", "services": {"regions": ["eu-west"]}},
        {"services.regions": "eu-west"},
        {"services.regions": "us-east"},
        {"$set": {"services.regions": ["us-east"]}},
    ),
    Change(
        "$set of a compound index's first key",
        Collections.NOTIFICATIONS,
        {"_id": "x", "customer_id": "C-1", "created_at": at(1)},
        {"customer_id": "C-1"},
        {"customer_id": "C-2"},
        {"$set": {"customer_id": "C-2"}},
    ),
    Change(
        "$pullAll from an indexed array",
        Collections.TICKETS,
        {"_id": "x", "outbox_pending": ["e1", "e2"]},
        {"outbox_pending": "e1"},
        {"outbox_pending": "e2"},
        {"$pullAll": {"outbox_pending": ["e1"]}},
    ),
    Change(
        "$push with $each onto an indexed array",
        Collections.TICKETS,
        {"_id": "x", "call_ids": ["call-1"], "teams": ["numbering"]},
        {"teams": "numbering"},
        {"call_ids": "call-2"},
        {"$set": {"teams": []}, "$push": {"call_ids": {"$each": ["call-2"]}}},
    ),
    Change(
        "replacement of the whole document",
        Collections.CUSTOMERS,
        {"_id": "x", "services": {"products": ["numbers"]}},
        {"services.products": "numbers"},
        {"services.products": "sip-trunk"},
        None,
        {"_id": "x", "services": {"products": ["sip-trunk"]}},
    ),
]


@pytest.mark.parametrize("change", CHANGES, ids=[change.name for change in CHANGES])
async def test_changed_document_is_found_by_its_new_value_only(
    database: Database, change: Change
) -> None:
    await ensure_indexes(database)
    collection = database[change.collection]
    await collection.insert_many([dict(change.before), {"_id": "other"}])
    assert await ids_found(database, change.collection, change.old) == ["x"]

    if change.update is not None:
        await collection.update_one({"_id": "x"}, change.update)
    else:
        assert change.replacement is not None
        await collection.replace_one({"_id": "x"}, change.replacement)

    assert await ids_found(database, change.collection, change.old) == []
    assert await ids_found(database, change.collection, change.new) == ["x"]
    assert await collection.count_documents(change.new) == 1


async def test_find_one_and_update_moves_the_document_in_the_index(database: Database) -> None:
    await ensure_indexes(database)
    notifications = database[Collections.NOTIFICATIONS]
    await notifications.insert_many(
        [{"_id": f"N-{i}", "status": "pending", "next_attempt_at": at(i)} for i in range(3)]
    )

    leased = await notifications.find_one_and_update(
        {"status": "pending"},
        {"$set": {"status": "delivered"}},
        sort=[("next_attempt_at", 1)],
        return_document=ReturnDocument.AFTER,
    )

    assert leased is not None
    assert leased["_id"] == "N-0"
    assert await ids_found(database, Collections.NOTIFICATIONS, {"status": "pending"}) == [
        "N-1",
        "N-2",
    ]
    assert await ids_found(database, Collections.NOTIFICATIONS, {"status": "delivered"}) == ["N-0"]


async def test_deleted_documents_are_no_longer_found_by_the_index(database: Database) -> None:
    await ensure_indexes(database)
    tickets = database[Collections.TICKETS]
    await tickets.insert_many(
        [{"_id": f"T-{i}", "call_ids": ["call-1"], "status": "closed"} for i in range(6)]
    )

    one = await tickets.delete_one({"_id": "T-0"})
    assert await ids_found(database, Collections.TICKETS, {"call_ids": "call-1"}) == [
        f"T-{i}" for i in range(1, 6)
    ]
    many = await tickets.delete_many({"status": "closed"})

    assert (one.deleted_count, many.deleted_count) == (1, 5)
    assert await ids_found(database, Collections.TICKETS, {"call_ids": "call-1"}) == []
    assert await ids_found(database, Collections.TICKETS, {"status": "closed"}) == []
    assert await tickets.count_documents({"status": "closed"}) == 0


async def test_a_dropped_collection_leaves_no_index_entries_behind(database: Database) -> None:
    tickets = database[Collections.TICKETS]
    await tickets.create_index("status")
    await tickets.insert_many([{"_id": "a", "status": "opened"}, {"_id": "b", "status": "opened"}])

    await tickets.drop()
    await tickets.create_index("status")
    await tickets.insert_many([{"_id": "a", "status": "closed"}, {"_id": "c", "status": "opened"}])

    assert await ids_found(database, Collections.TICKETS, {"status": "opened"}) == ["c"]
    assert await ids_found(database, Collections.TICKETS, {"status": "closed"}) == ["a"]
