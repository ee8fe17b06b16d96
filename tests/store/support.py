"""Helpers of the store conformance suite: the embedded store the suite runs itself, and reading
the query plans `explain` answers with, in our launcher's shape and in MongoDB's."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from infra.processes import free_ports
from infra.store import StoreServer
from shared.mongo import Database, Document

# Stages that read an index. MongoDB answers a lookup by `_id` alone with IDHACK (before 8.0)
# or EXPRESS_IXSCAN (8.0+), without an IXSCAN below it.
INDEX_STAGES = frozenset({"IXSCAN", "EXPRESS_IXSCAN", "IDHACK"})
ID_KEY_PATTERN: Document = {"_id": 1}
Sort = list[tuple[str, int]]
# Concurrent writers of the atomicity tests, each with a client (and connection) of its own.
WRITERS = 16


def connect(url: str) -> AsyncMongoClient[Document]:
    """A client as the services make one: datetimes come back timezone-aware."""
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=10_000)


def embedded_server(folder: Path, data_dir: Path | None = None) -> StoreServer:
    """An embedded store on a free port, its log and pid file in `folder`; not started."""
    return StoreServer(
        port=free_ports(1)[0],
        data_dir=data_dir or folder / "data",
        log_file=folder / "store.log",
        pid_file=folder / "store.pid",
    )


def start(server: StoreServer) -> StoreServer:
    """Start the server and wait until it answers; stop it again if it never does."""
    server.start()
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


@contextmanager
def running(server: StoreServer) -> Iterator[StoreServer]:
    """The server, started and ready; stopped by its pid when the block ends."""
    start(server)
    try:
        yield server
    finally:
        server.stop()


async def explain_find(
    database: Database, collection: str, query: Document, sort: Sort | None = None
) -> Document:
    """The server's plan for `find(query)`: a server that cannot explain fails the test."""
    command: Document = {"find": collection, "filter": query}
    if sort:
        command["sort"] = dict(sort)
    try:
        return await database.command("explain", command)
    except OperationFailure as error:
        pytest.fail(f"the server refused to explain a find on {collection}: {error}")


def winning_plan(explained: Document) -> Document:
    """The winning plan; MongoDB 7+ nests it one level deeper, under `queryPlan`."""
    plan: Document = explained["queryPlanner"]["winningPlan"]
    nested = plan.get("queryPlan")
    return nested if isinstance(nested, dict) else plan


def plan_stages(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every stage of a plan, depth first: `inputStage`, `inputStages` and any other nesting
    (an IXSCAN sits under FETCH, SORT, LIMIT, OR or SHARDING_FILTER in MongoDB's plans)."""
    if "stage" in plan:
        yield plan
    for value in plan.values():
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, Mapping):
                yield from plan_stages(child)


def index_scans(explained: Document) -> list[Mapping[str, Any]]:
    """The stages of the winning plan that read an index."""
    return [
        stage for stage in plan_stages(winning_plan(explained)) if stage["stage"] in INDEX_STAGES
    ]


def scanned_key_patterns(explained: Document) -> list[Document]:
    """The key pattern of every index the winning plan reads (IDHACK reads `_id`)."""
    return [dict(scan.get("keyPattern", ID_KEY_PATTERN)) for scan in index_scans(explained)]


def stage_names(explained: Document) -> list[str]:
    return [str(stage["stage"]) for stage in plan_stages(winning_plan(explained))]


def filter_fields(query: Mapping[str, Any]) -> set[str]:
    """The fields a filter constrains, at the top level and inside `$or` / `$and` clauses."""
    fields: set[str] = set()
    for key, value in query.items():
        if key in {"$or", "$and"}:
            for clause in value:
                fields |= filter_fields(clause)
        elif not key.startswith("$"):
            fields.add(key)
    return fields
