"""Fixtures of the store conformance suite: the server under test, clients, a fresh database.

The server is `SWITCHBOARD_TEST_MONGO_URL` when that is set (a real MongoDB, say); with
SWITCHBOARD_TEST_CONTAINERS=1, MongoDB 7 as a one-node replica set in a container (skipped when
no Docker engine answers); otherwise the suite starts the embedded store itself, on a free port
in a tmp folder, and stops it by its pid at the end of the session. Where the embedded store is
known to differ from MongoDB, a test
says so with `embedded_gap`: expected to fail there, required to pass on MongoDB.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
from pymongo import AsyncMongoClient, MongoClient

from shared.mongo import Database, Document
from tests.containers import Source, choose_infrastructure, docker_engine_problem, mongo_replica_set
from tests.store.support import WRITERS, connect, embedded_server, running

MONGO_ENV = "SWITCHBOARD_TEST_MONGO_URL"


@dataclass(frozen=True)
class StoreUnderTest:
    url: str
    embedded: bool  # the embedded store (mongo-java-server), whoever started it


def is_embedded_store(url: str) -> bool:
    """mongo-java-server's buildInfo has no gitVersion; MongoDB's (and its look-alikes') has."""
    mongo: MongoClient[Document] = MongoClient(url, serverSelectionTimeoutMS=10_000)
    try:
        return "gitVersion" not in mongo.admin.command("buildInfo")
    finally:
        mongo.close()


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreUnderTest]:
    infrastructure = choose_infrastructure(
        os.environ, given=(MONGO_ENV,), engine_answers=docker_engine_problem
    )
    if infrastructure.source is Source.GIVEN:
        url = os.environ[MONGO_ENV]
        yield StoreUnderTest(url, embedded=is_embedded_store(url))
        return
    if infrastructure.source is Source.ABSENT:
        pytest.skip(infrastructure.reason)
    if infrastructure.source is Source.CONTAINERS:
        with mongo_replica_set() as url:
            yield StoreUnderTest(url, embedded=is_embedded_store(url))
        return
    with running(embedded_server(tmp_path_factory.mktemp("store"))) as server:
        yield StoreUnderTest(server.url, embedded=is_embedded_store(server.url))


@pytest.fixture
def embedded_gap(request: pytest.FixtureRequest, store: StoreUnderTest) -> Callable[[str], None]:
    """Declares a known deviation of the embedded store from MongoDB: on the embedded store the
    test is expected to fail (strictly: once the launcher is fixed it fails until the mark goes);
    on MongoDB it must pass as it stands."""

    def expect_failure(reason: str) -> None:
        if store.embedded:
            mark = pytest.mark.xfail(reason=f"embedded store: {reason}", strict=True)
            request.applymarker(mark)

    return expect_failure


@pytest.fixture(scope="session")
async def client(store: StoreUnderTest) -> AsyncIterator[AsyncMongoClient[Document]]:
    mongo = connect(store.url)
    yield mongo
    await mongo.close()


@pytest.fixture
async def database(client: AsyncMongoClient[Document]) -> AsyncIterator[Database]:
    """A database of this test alone, dropped afterwards."""
    name = f"store_{uuid.uuid4().hex}"
    yield client[name]
    await client.drop_database(name)


@pytest.fixture
async def writers(store: StoreUnderTest, database: Database) -> AsyncIterator[list[Database]]:
    """The test's database as seen by WRITERS separate clients."""
    clients = [connect(store.url) for _ in range(WRITERS)]
    try:
        yield [mongo[database.name] for mongo in clients]
    finally:
        await asyncio.gather(*(mongo.close() for mongo in clients))
