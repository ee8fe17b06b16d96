"""Lone UTF-16 surrogates in a JSON body (`"\\ud800"`): refused with a 422 naming the field.

JSON lets a string escape half of a surrogate pair, and Python decodes it into a `str` that
no UTF-8 encoder takes: it could be neither stored, nor published, nor echoed back. Every
string of the parsed body (object keys too) is checked before any route uses it.
"""

import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from services.intake.auth import AnyCaller

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
Location = tuple[str | int, ...]


def lone_surrogate_at(value: Any, where: Location = ()) -> Location | None:
    """Where the first string holding a lone surrogate is, or None."""
    if isinstance(value, str):
        return where if LONE_SURROGATE.search(value) else None
    if isinstance(value, dict):
        items: list[tuple[Any, Any]] = list(value.items())
        for key, item in items:
            if LONE_SURROGATE.search(key):
                return (*where, key)
            found = lone_surrogate_at(item, (*where, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_at(item, (*where, index))
            if found is not None:
                return found
    return None


async def refuse_lone_surrogates(request: Request, _caller: AnyCaller) -> None:
    """After authentication, before the body reaches a route: FastAPI parsed and kept it."""
    if not await request.body():
        return
    try:
        document = await request.json()  # parsed once already: Starlette keeps the result
    except ValueError:
        return  # not JSON: the route refuses it as such
    where = lone_surrogate_at(document)
    if where is not None:
        raise RequestValidationError(
            [
                {
                    "type": "string_unicode",
                    "loc": ("body", *where),
                    "msg": "a lone UTF-16 surrogate (\\ud800-\\udfff) is not text: "
                    "escape both halves of a pair, or send the character as UTF-8",
                }
            ]
        )
