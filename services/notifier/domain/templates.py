"""Customer message templates: one Jinja2 file per event type and language, with a fallback.

Ticket events tell one customer about their ticket; incident events tell every affected
customer about an outage. Both render the same way: the event's fields are the variables.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from shared.customers import FALLBACK_LANGUAGE, Language
from shared.events import Event, TicketEvent
from shared.incidents import AnyIncidentEvent, IncidentEvent

SHIPPED_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
SUFFIX = ".txt.j2"
BLOCKS = ("subject", "body")

# What a customer message is about: a step of their ticket, or an outage that hits them.
CustomerNews = Event | IncidentEvent

# Every event the customer hears about; each needs at least an English template.
CUSTOMER_VISIBLE: tuple[type[CustomerNews], ...] = (
    *(
        event_type
        for event_type in get_args(get_args(TicketEvent)[0])
        if event_type.customer_visible
    ),
    *get_args(get_args(AnyIncidentEvent)[0]),
)


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    subject: str
    body: str


class MessageTemplateError(ValueError):
    """The template directory is incomplete or names what does not exist."""


def when(moment: datetime) -> str:
    """A moment as customers read it in every language: 2026-11-25 14:00 UTC."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


class MessageTemplates:
    """What each customer-visible event says, in each language; compiled and checked once."""

    def __init__(
        self,
        directory: Path = SHIPPED_TEMPLATES,
        event_types: Iterable[type[CustomerNews]] = CUSTOMER_VISIBLE,
    ) -> None:
        known = {event_type.__name__ for event_type in event_types}
        self._templates = _load(_environment(directory), known)
        missing = sorted(name for name in known if (name, FALLBACK_LANGUAGE) not in self._templates)
        if missing:
            raise MessageTemplateError(
                f"{directory}: no {FALLBACK_LANGUAGE.value} template for "
                + ", ".join(
                    f"{name} ({FALLBACK_LANGUAGE.value}/{name}{SUFFIX})" for name in missing
                )
            )

    def render(self, event: CustomerNews, language: Language) -> CustomerMessage | None:
        """The message for an event in a language (or the fallback); None for internal steps."""
        name = type(event).__name__
        template = self._templates.get((name, language))
        if template is None:
            template = self._templates.get((name, FALLBACK_LANGUAGE))
        if template is None:
            return None
        return _message(template, message_context(event))

    def languages_for(self, event_type: type[CustomerNews]) -> frozenset[Language]:
        """The languages with their own template for an event type, fallback aside."""
        name = event_type.__name__
        return frozenset(language for language in Language if (name, language) in self._templates)


def message_context(event: CustomerNews) -> dict[str, Any]:
    """The variables a template sees: every field of the event, and the event itself."""
    fields = {field: getattr(event, field) for field in type(event).model_fields}
    return {**fields, "event": event}


def _environment(directory: Path) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(directory),
        undefined=StrictUndefined,
        # Messages are plain text (SMS, webhook JSON, text e-mail): nothing to escape.
        autoescape=select_autoescape(["html", "htm", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = when
    return environment


def _load(environment: Environment, known: set[str]) -> dict[tuple[str, Language], Template]:
    templates: dict[tuple[str, Language], Template] = {}
    for path in environment.list_templates():
        parts = path.split("/")
        if parts[-1].startswith("_"):
            continue  # shared pieces (the base template), not messages
        language, name = _identify(path, parts, known)
        template = environment.get_template(path)
        absent = [block for block in BLOCKS if block not in template.blocks]
        if absent:
            raise MessageTemplateError(f"{path}: no {' or '.join(absent)} block")
        templates[name, language] = template
    return templates


def _identify(path: str, parts: list[str], known: set[str]) -> tuple[Language, str]:
    if len(parts) != 2 or not parts[1].endswith(SUFFIX):
        raise MessageTemplateError(f"{path}: expected <language>/<EventType>{SUFFIX}")
    if parts[0] not in {language.value for language in Language}:
        raise MessageTemplateError(f"{path}: unknown language {parts[0]!r}")
    name = parts[1].removesuffix(SUFFIX)
    if name not in known:
        raise MessageTemplateError(f"{path}: {name} is not a customer-visible event type")
    return Language(parts[0]), name


def _message(template: Template, variables: Mapping[str, Any]) -> CustomerMessage:
    context = template.new_context(dict(variables))
    subject, body = ("".join(template.blocks[block](context)) for block in BLOCKS)
    # One line whatever the event carries: a line break in a subject is a header injection.
    return CustomerMessage(subject=" ".join(subject.split()), body=body.strip())
