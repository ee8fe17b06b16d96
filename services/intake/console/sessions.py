"""Console sessions: a browser signs in once with an agent's API key and gets a signed cookie.

The cookie names the key by its hash and when the session ends, signed with HMAC-SHA256; it
never holds the key. Each request checks the signature, the end, and that the key still
belongs to an agent (through the key cache), so a key removed from the store ends its
sessions within the cache's lifetime.
"""

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Cookie, Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from services.intake.auth import API_KEY_HEADER, ApiKeys, Caller, hash_key
from shared.vocabulary import Role

COOKIE = "switchboard_console"
COOKIE_PATH = "/console"
_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


@dataclass(frozen=True, slots=True)
class Session:
    key_hash: str
    expires_at: int  # Unix seconds


class SessionSigner:
    """Issues and checks session tokens: `<key hash>.<expiry>.<signature>`."""

    def __init__(
        self,
        secret: bytes | None,
        lifetime_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.lifetime_s = lifetime_s
        self._clock = clock

    def issue(self, key: str) -> str:
        payload = f"{hash_key(key)}.{int(self._clock()) + self.lifetime_s}"
        return f"{payload}.{self._sign(payload)}"

    def check(self, token: str) -> Session | None:
        """The session the token names, if it is genuine and not over; None otherwise."""
        payload, _, signature = token.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        key_hash, _, expires = payload.partition(".")
        if not expires.isdigit() or int(expires) <= self._clock():
            return None
        return Session(key_hash, int(expires))

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def console_caller(
    request: Request,
    key: Annotated[str | None, Depends(_api_key_header)],
    token: Annotated[str | None, Cookie(alias=COOKIE, include_in_schema=False)] = None,
) -> Caller:
    """An agent, by API key (scripts) or by the console's session cookie (the page)."""
    keys: ApiKeys = request.app.state.api_keys
    caller = None
    if key:
        caller = await keys.caller_for(key)
    elif token:
        signer: SessionSigner = request.app.state.console_sessions
        session = signer.check(token)
        caller = await keys.caller_for_hash(session.key_hash) if session else None
    if caller is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"sign in to the console, or send an agent's key in {API_KEY_HEADER}",
            headers={"WWW-Authenticate": API_KEY_HEADER},
        )
    if caller.role is not Role.AGENT:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="the console needs role agent")
    return caller


ConsoleAgent = Annotated[Caller, Depends(console_caller)]
