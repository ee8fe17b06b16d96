"""When to try a failed delivery again: exponential backoff with full jitter, bounded."""

from datetime import datetime, timedelta


def retry_at(
    now: datetime,
    *,
    attempts_made: int,
    max_attempts: int,
    base_s: float,
    cap_s: float,
    jitter: float,
) -> datetime | None:
    """The time of the next try, or None once `max_attempts` tries have been made.

    `jitter` in [0, 1] is drawn by the caller, so the core stays deterministic.
    """
    if attempts_made >= max_attempts:
        return None
    ceiling = min(cap_s, base_s * 2 ** (attempts_made - 1))
    return now + timedelta(seconds=ceiling * (0.5 + jitter / 2))
