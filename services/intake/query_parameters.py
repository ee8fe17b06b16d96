"""Query parameters a route does not take are refused (422 naming each), as a misspelt body
field is: `?limt=5` is a mistake to point out, not a filter to ignore. So is a parameter
given twice that takes one value (`?limit=5&limit=9`): only a list may repeat."""

from fastapi import Request
from fastapi._compat.shared import field_annotation_is_sequence
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from services.intake.problems import excerpt

# By route, worked out once: each parameter's name, and whether it takes a list.
_known: dict[int, dict[str, bool]] = {}


def parameters_of(route: APIRoute) -> dict[str, bool]:
    names = _known.get(id(route))
    if names is None:
        names = {
            field.alias: field_annotation_is_sequence(field.field_info.annotation)
            for field in get_flat_params(route.dependant)
        }
        _known[id(route)] = names
    return names


async def refuse_unknown_query_parameters(request: Request) -> None:
    route = request.scope.get("route")
    if not request.query_params or not isinstance(route, APIRoute):
        return
    known = parameters_of(route)
    errors = [
        _problem(name, known, len(request.query_params.getlist(name)))
        for name in dict.fromkeys(request.query_params)
    ]
    if any(errors):
        raise RequestValidationError([error for error in errors if error])


def _problem(name: str, known: dict[str, bool], times: int) -> dict[str, object] | None:
    if name not in known:
        message = f"this route takes no query parameter {excerpt(name, 40)!r}"
        return {"type": "extra_forbidden", "loc": ("query", name), "msg": message}
    if times > 1 and not known[name]:
        message = f"{name} takes one value; it was given {times} times"
        return {"type": "too_many_values", "loc": ("query", name), "msg": message}
    return None
