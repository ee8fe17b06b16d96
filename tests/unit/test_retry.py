"""Retrying failed deliveries: exponential backoff, capped, jittered, and bounded."""

from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.domain.retry import retry_at

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
BASE_S = 2.0
CAP_S = 60.0
MAX_ATTEMPTS = 10


def delay(attempts_made: int, jitter: float) -> timedelta | None:
    at = retry_at(
        NOW,
        attempts_made=attempts_made,
        max_attempts=MAX_ATTEMPTS,
        base_s=BASE_S,
        cap_s=CAP_S,
        jitter=jitter,
    )
    return None if at is None else at - NOW


@pytest.mark.parametrize(
    ("attempts_made", "ceiling_s"),
    [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (7, 60), (9, 60)],
)
def test_the_wait_doubles_with_each_attempt_up_to_the_cap(
    attempts_made: int, ceiling_s: float
) -> None:
    assert delay(attempts_made, jitter=1.0) == timedelta(seconds=ceiling_s)


@pytest.mark.parametrize(("attempts_made", "ceiling_s"), [(1, 2), (3, 8), (8, 60)])
def test_no_jitter_waits_half_the_ceiling(attempts_made: int, ceiling_s: float) -> None:
    assert delay(attempts_made, jitter=0.0) == timedelta(seconds=ceiling_s / 2)


@pytest.mark.parametrize("jitter", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("attempts_made", [1, 4, 9])
def test_jitter_keeps_the_wait_between_half_and_the_whole_ceiling(
    attempts_made: int, jitter: float
) -> None:
    ceiling = timedelta(seconds=min(CAP_S, BASE_S * 2 ** (attempts_made - 1)))

    wait = delay(attempts_made, jitter)

    assert wait is not None
    assert ceiling / 2 <= wait <= ceiling


def test_more_jitter_never_means_an_earlier_retry() -> None:
    waits = [delay(3, jitter / 10) or timedelta.max for jitter in range(11)]

    assert timedelta.max not in waits
    assert waits == sorted(waits)


@pytest.mark.parametrize("attempts_made", [MAX_ATTEMPTS, MAX_ATTEMPTS + 1])
def test_no_retry_once_every_attempt_is_spent(attempts_made: int) -> None:
    assert delay(attempts_made, jitter=0.5) is None


def test_the_last_attempt_before_the_limit_is_still_scheduled() -> None:
    assert delay(MAX_ATTEMPTS - 1, jitter=0.5) is not None
