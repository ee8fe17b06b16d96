"""The pure parts of intake's edge: the token bucket, and what an error body may repeat."""

import json

import pytest

from services.intake.limits import RateLimits, TokenBucket
from services.intake.problems import REDACTED, excerpt, excerpt_of, field_problems
from services.intake.surrogates import lone_surrogate_at


def test_a_full_bucket_lets_a_burst_through_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, tokens=3.0, updated_at=0.0)

    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)  # one token every half second
    assert bucket.take(0.5) == 0.0
    assert bucket.take(0.5) == pytest.approx(0.5)


def test_a_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(rate=10.0, burst=2, tokens=2.0, updated_at=0.0)

    assert [bucket.take(3600.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(0.1)]


def test_each_key_has_its_own_bucket_and_the_least_recent_are_forgotten() -> None:
    now = [0.0]
    limits = RateLimits(rate=1.0, burst=1, max_keys=2, clock=lambda: now[0])

    assert (limits.wait_s("a"), limits.wait_s("b")) == (0.0, 0.0)
    assert limits.wait_s("a") == pytest.approx(1.0)
    limits.wait_s("c")  # forgets "b", the least recently used
    assert limits.wait_s("b") == 0.0


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("short", "short"),
        ("x" * 200, "x" * 80 + "..."),
        ("half a pair: \ud800", "half a pair: \\ud800"),
        ("Facturación", "Facturación"),
        (
            {"secret": "s3cr3t-s3cr3t-s3cr3t", "name": "ops"},
            '{"secret": "<redacted>", "name": "ops"}',
        ),
        (list(range(100)), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"),
        (b"\xff\xfeabc", "\ufffd\ufffdabc"),
    ],
    ids=["short", "long", "lone-surrogate", "accents", "secret", "long-list", "bytes"],
)
def test_an_excerpt_is_short_encodable_and_keeps_secrets(value: object, shown: str) -> None:
    assert excerpt_of(value) == shown
    excerpt_of(value).encode("utf-8")


def test_a_secret_field_is_never_repeated() -> None:
    (problem,) = field_problems(
        [{"loc": ("body", "webhook", "secret"), "msg": "too short", "type": "x", "input": "abc"}]
    )

    assert problem.input == REDACTED


def test_a_location_with_a_lone_surrogate_is_escaped() -> None:
    (problem,) = field_problems([{"loc": ("body", "\udc00"), "msg": "extra", "type": "x"}])

    assert problem.loc == ["body", "\\udc00"]
    assert problem.input is None
    json.dumps(problem.model_dump()).encode("utf-8")


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"a": "fine", "b": ["fine", {"c": "\ud800"}]}, ("b", 1, "c")),
        ({"\udfff": "key"}, ("\udfff",)),
        ({"emoji": "😞", "n": 3, "none": None}, None),
    ],
    ids=["nested", "key", "none"],
)
def test_a_lone_surrogate_is_found_where_it_is(document: object, where: object) -> None:
    assert lone_surrogate_at(document) == where


def test_an_excerpt_cuts_before_escaping() -> None:
    assert excerpt("\ud800" * 100, 2) == "\\ud800\\ud800..."
