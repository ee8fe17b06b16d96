"""API keys are read from the store once per TTL, not once per request."""

from services.intake.auth import ApiKeys, hash_key
from shared.vocabulary import Role
from tests.service.fakes import FakeCollection

KEY = "sb_known-key"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def keys_with(collection: FakeCollection, clock: Clock) -> ApiKeys:
    collection.documents.append(
        {"_id": hash_key(KEY), "name": "crm", "role": Role.AGENT.value, "customer_id": None}
    )
    return ApiKeys(collection, ttl_s=30.0, clock=clock)  # type: ignore[arg-type]


async def test_a_key_is_read_from_the_store_once_within_its_ttl() -> None:
    collection, clock = FakeCollection(), Clock()
    keys = keys_with(collection, clock)
    first = await keys.caller_for(KEY)
    clock.now += 29.0
    second = await keys.caller_for(KEY)
    assert first is not None
    assert first == second
    assert first.role is Role.AGENT
    assert len(collection.queries) == 1


async def test_a_key_is_read_again_once_its_ttl_ran_out() -> None:
    collection, clock = FakeCollection(), Clock()
    keys = keys_with(collection, clock)
    await keys.caller_for(KEY)
    collection.documents.clear()  # the key was removed from the store
    clock.now += 31.0
    assert await keys.caller_for(KEY) is None
    assert len(collection.queries) == 2


async def test_an_unknown_key_is_remembered_until_forgotten() -> None:
    collection, clock = FakeCollection(), Clock()
    keys = ApiKeys(collection, ttl_s=30.0, clock=clock)  # type: ignore[arg-type]
    assert await keys.caller_for(KEY) is None
    assert await keys.caller_for(KEY) is None
    assert len(collection.queries) == 1
    collection.documents.append(
        {"_id": hash_key(KEY), "name": "crm", "role": Role.AGENT.value, "customer_id": None}
    )
    keys.forget(hash_key(KEY))
    caller = await keys.caller_for(KEY)
    assert caller is not None
    assert caller.name == "crm"
