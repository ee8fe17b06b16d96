"""The one shape of every error answer: RFC 9457 problem details (`application/problem+json`).

An error body never repeats more of the caller's input than a short excerpt, escaped so that
anything (a lone surrogate, a megabyte of text, a webhook secret) can be answered safely.
"""

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Annotated, Any

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://switchboard.example/problems/"
EXCERPT_CHARS = 80
MAX_FIELD_PROBLEMS = 50
MAX_ITEMS, MAX_DEPTH = 10, 8  # of an object or list input, before it is cut
REDACTED = "<redacted>"
SECRET_FIELDS = frozenset({"secret"})


class Problem(BaseModel):
    """RFC 9457 problem details: what went wrong, for people (`detail`) and programs (`type`)."""

    type: Annotated[str, Field(description="A URI naming the kind of problem")]
    title: Annotated[str, Field(description="The kind of problem, the same for every instance")]
    status: Annotated[int, Field(description="The HTTP status code")]
    detail: Annotated[str, Field(description="What went wrong with this request")]


class FieldProblem(BaseModel):
    """One invalid part of the request: where (`loc`), what rule it broke, an excerpt of it."""

    loc: Annotated[
        list[str | int],
        Field(description='Where: `["body", "summary"]`, `["query", "limit"]`, `["header", …]`'),
    ]
    msg: str
    type: Annotated[str, Field(description="The rule broken, e.g. `string_too_long`")]
    input: Annotated[
        str | None,
        Field(
            description=(
                f"At most {EXCERPT_CHARS} characters of the offending input (a string as "
                "itself, anything else as JSON; a lone surrogate escaped as `\\ud800`); "
                "secrets are never repeated"
            )
        ),
    ] = None


class ValidationProblem(Problem):
    """A 422: each invalid field named in `errors`."""

    errors: Annotated[
        list[FieldProblem],
        Field(description=f"The invalid fields (the first {MAX_FIELD_PROBLEMS})"),
    ]


# Each status the API answers with, by the type (a slug of TYPE_BASE) and title it carries.
KINDS: dict[int, tuple[str, str]] = {
    400: ("malformed-body", "The body is not JSON"),
    401: ("unauthenticated", "No valid API key"),
    403: ("forbidden", "Not allowed for this role"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("body-too-large", "Body too large"),
    422: ("invalid-request", "Invalid request"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal error"),
    503: ("unavailable", "Service unavailable"),
}


def problem_body(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase
    slug, title = KINDS.get(status, (phrase.lower().replace(" ", "-"), phrase))
    return {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail, **extra}


def problem_response(
    status: int, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, detail, **extra),
        status_code=status,
        headers=headers,
        media_type=MEDIA_TYPE,
    )


def field_problems(errors: list[Mapping[str, Any]]) -> list[FieldProblem]:
    """Pydantic's errors as field problems: bounded in number, inputs excerpted and redacted."""
    return [_field_problem(error) for error in errors[:MAX_FIELD_PROBLEMS]]


def _field_problem(error: Mapping[str, Any]) -> FieldProblem:
    loc = [part if isinstance(part, int) else excerpt(str(part)) for part in error.get("loc", ())]
    secret = bool(loc) and loc[-1] in SECRET_FIELDS
    raw = error.get("input")
    shown = None if "input" not in error else REDACTED if secret else excerpt_of(raw)
    return FieldProblem(
        loc=loc,
        msg=excerpt(str(error.get("msg", "")), 300),
        type=str(error.get("type", "value_error")),
        input=shown,
    )


def excerpt_of(value: Any) -> str:
    """The value (a string as itself, anything else as compact JSON), secrets redacted, cut."""
    if isinstance(value, str):
        return excerpt(value)
    if isinstance(value, bytes | bytearray):
        return excerpt(bytes(value[: EXCERPT_CHARS * 4]).decode("utf-8", "replace"))
    return excerpt(json.dumps(_without_secrets(value), ensure_ascii=False, default=repr))


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most `limit` characters, and always encodable: a lone surrogate becomes `\\ud800`."""
    cut = text if len(text) <= limit else text[:limit] + "..."
    return cut.encode("utf-8", "backslashreplace").decode("utf-8")


def _without_secrets(value: Any, depth: int = 0) -> Any:
    """A few items of each object and list, secrets redacted: enough to see the input."""
    if depth > MAX_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {
            str(k): REDACTED if k in SECRET_FIELDS else _without_secrets(v, depth + 1)
            for k, v in list(value.items())[:MAX_ITEMS]
        }
    if isinstance(value, list | tuple):
        return [_without_secrets(item, depth + 1) for item in value[:MAX_ITEMS]]
    return value
