"""API keys: callers present a key; only its SHA-256 is stored, with the caller's role."""

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from cachetools import TTLCache
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from shared.mongo import Collection, Document
from shared.vocabulary import Role

API_KEY_HEADER = "X-API-Key"
api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    role: Role
    customer_id: str | None = None

    def may_see(self, customer_id: str) -> bool:
        return self.role is not Role.CUSTOMER or self.customer_id == customer_id


def hash_key(key: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough: there is nothing to guess.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """Keys by their hash; what a lookup found (a caller, or no caller) is kept for `ttl_s`.

    Every request presents a key, and keys change rarely: the cache saves a store round trip
    per request, and bounds how long a key removed from the store still works.
    """

    def __init__(
        self,
        keys: Collection,
        ttl_s: float = 30.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
        self._found: TTLCache[str, Caller | None] = TTLCache(max_keys, ttl_s, timer=clock)

    async def issue(self, name: str, role: Role, customer_id: str | None = None) -> str:
        """Create a key and return it; this is the only time the plain key exists."""
        if (role is Role.CUSTOMER) != (customer_id is not None):
            raise ValueError("a customer key needs a customer id, and only a customer key")
        key = f"sb_{secrets.token_urlsafe(32)}"
        hashed = hash_key(key)
        await self._keys.insert_one(
            {"_id": hashed, "name": name, "role": role.value, "customer_id": customer_id}
        )
        self.forget(hashed)
        return key

    def forget(self, hashed: str) -> None:
        """Drop what was cached for a key (by its hash), so the next request reads the store."""
        self._found.pop(hashed, None)

    async def caller_for(self, key: str) -> Caller | None:
        return await self.caller_for_hash(hash_key(key))

    async def caller_for_hash(self, hashed: str) -> Caller | None:
        """The caller whose key has this hash; a console session names its key so."""
        if hashed in self._found:
            return self._found[hashed]
        record = await self._keys.find_one({"_id": hashed})
        caller = None if record is None else _caller(record)
        self._found[hashed] = caller
        return caller


def _caller(record: Document) -> Caller:
    return Caller(
        name=record["name"], role=Role(record["role"]), customer_id=record.get("customer_id")
    )


async def authenticate(
    request: Request, key: Annotated[str | None, Depends(api_key_header)]
) -> Caller:
    keys: ApiKeys = request.app.state.api_keys
    caller = await keys.caller_for(key) if key else None
    if caller is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"missing or unknown API key in the {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": API_KEY_HEADER},
        )
    return caller


def ensure_role(caller: Caller, roles: tuple[Role, ...]) -> Caller:
    """The caller, if it has one of `roles`; a 403 naming them otherwise."""
    if caller.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"this route needs role {allowed}")
    return caller


def require(*roles: Role) -> object:
    """A dependency that admits only callers with one of `roles`."""

    async def check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        return ensure_role(caller, roles)

    return Depends(check)


AnyCaller = Annotated[Caller, Depends(authenticate)]
Agent = Annotated[Caller, require(Role.AGENT)]
AgentOrCustomer = Annotated[Caller, require(Role.AGENT, Role.CUSTOMER)]
