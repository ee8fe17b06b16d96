"""Limits at the edge, before a route runs: how big a body may be, how often a key may call.

Both are plain ASGI middleware so a refused request costs no body parsing: an oversized body
is refused on its `Content-Length`, or as soon as the bytes streamed in pass the limit; a
caller over its rate is refused before its body is read at all.
"""

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.intake.auth import API_KEY_HEADER
from services.intake.problems import problem_response

API_KEY = API_KEY_HEADER.lower().encode()


class BodyTooLarge(HTTPException):
    """The body passed the limit while it streamed in; FastAPI lets an HTTPException through."""

    def __init__(self, limit: int) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, detail=too_large(limit))


def too_large(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes"


class BodyLimit:
    """Refuses a request body over `limit` bytes with 413, without reading it into memory."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await problem_response(413, too_large(self.limit))(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        return counted


@dataclass(slots=True)
class TokenBucket:
    """`rate` requests a second on average, `burst` at once; `take` says how long to wait."""

    rate: float
    burst: int
    tokens: float
    updated_at: float

    def take(self, now: float) -> float:
        """0 if a request may go now (and counts it), else the seconds until one may."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated_at) * self.rate)
        self.updated_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimits:
    """A token bucket per API key, in this process; the least recently used are forgotten."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate, self._burst, self._max_keys, self._clock = rate, burst, max_keys, clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def wait_s(self, key: str) -> float:
        """0 if the key's request may go now, else the seconds until it may."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self._rate, self._burst, float(self._burst), now)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)  # a forgotten key starts with a full bucket
        else:
            self._buckets.move_to_end(key)
        return bucket.take(now)


class RateLimit:
    """Answers 429 with `Retry-After` to a key that called more often than its limits allow."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, API_KEY) if scope["type"] == "http" else None
        wait_s = self.limits.wait_s(hashlib.sha256(key.encode()).hexdigest()) if key else 0.0
        if wait_s <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = str(max(1, math.ceil(wait_s)))
        detail = f"too many requests with this API key; retry in {retry_after} s"
        response = problem_response(429, detail, {"Retry-After": retry_after})
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
