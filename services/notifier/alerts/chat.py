"""The chat webhook: a JSON `{"text": ...}` POST, as Slack, Mattermost and Teams workflows take.

Its URL is a secret (whoever holds it can post to the channel), so it never reaches a log line:
failures are logged by status or by the kind of error, never by `str(error)`.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx
from pydantic import SecretStr

log = logging.getLogger("switchboard.notifier.alerts")

# Client errors a retry can fix (rate limits above all); any other 4xx never will.
_RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 425, 429})
FIRST_BACKOFF_S = 1.0


class AlertRefused(Exception):
    """The chat service answered that it will never take this message."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the chat webhook answered {status}")
        self.status = status


class ChatWebhook:
    """Posts one message until the chat service takes it, waiting longer after each failure."""

    def __init__(
        self,
        url: SecretStr,
        http: httpx.AsyncClient,
        backoff_max_s: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._url = url
        self._http = http
        self._backoff_max_s = backoff_max_s
        self._sleep = sleep

    async def post(self, text: str) -> None:
        """Returns once taken; raises `AlertRefused` on an answer that a retry cannot change."""
        backoff_s = FIRST_BACKOFF_S
        attempt = 1
        while True:
            wait_s, problem = await self._try(text, backoff_s)
            if wait_s is None:
                return
            log.warning(
                "alert not taken by the chat webhook; trying again",
                extra={"attempt": attempt, "problem": problem, "retry_in_s": wait_s},
            )
            await self._sleep(wait_s)
            backoff_s = min(backoff_s * 2, self._backoff_max_s)
            attempt += 1

    async def _try(self, text: str, backoff_s: float) -> tuple[float | None, str]:
        """None when taken; else how long to wait before the next try, and why."""
        try:
            response = await self._http.post(self._url.get_secret_value(), json={"text": text})
        except httpx.HTTPError as error:
            return backoff_s, type(error).__name__
        if response.is_success:
            return None, ""
        status = response.status_code
        if 400 <= status < 500 and status not in _RETRYABLE_CLIENT_ERRORS:
            raise AlertRefused(status)
        asked = _retry_after_s(response.headers.get("Retry-After"))
        return min(max(backoff_s, asked), self._backoff_max_s), f"HTTP {status}"


def _retry_after_s(value: str | None) -> float:
    """Seconds a `Retry-After` header asks for (0 when absent or given as a date)."""
    try:
        return max(float(value), 0.0) if value else 0.0
    except ValueError:
        return 0.0
