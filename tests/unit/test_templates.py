"""Message templates: every customer-visible event reads well in every language, with a fallback."""

import shutil
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, get_args

import pytest
from jinja2 import TemplateSyntaxError, UndefinedError

from services.notifier.domain.policy import KIND_OF, kind_of, shipped_templates
from services.notifier.domain.templates import (
    SHIPPED_TEMPLATES,
    CustomerNews,
    MessageTemplateError,
    MessageTemplates,
    when,
)
from shared.customers import FALLBACK_LANGUAGE, Language
from shared.events import (
    WORKFLOW,
    ConfirmationRequested,
    Event,
    FixStarted,
    ResolvedWithIncident,
    TicketClosed,
    TicketEvent,
    TicketOpened,
    TicketTriaged,
)
from shared.incidents import (
    AnyIncidentEvent,
    IncidentDeclared,
    IncidentEvent,
    IncidentScope,
    IncidentUpdated,
    Severity,
)
from shared.vocabulary import Priority, Team, TicketStatus
from tests.unit.examples import CRM, NOW, TICKET_ID, details, later

# Taken from the contract, not from the code under test: a new visible event needs templates.
EVENT_TYPES: tuple[type[Event], ...] = get_args(get_args(TicketEvent)[0])
VISIBLE = tuple(event_type for event_type in EVENT_TYPES if event_type.customer_visible)
INTERNAL = tuple(event_type for event_type in EVENT_TYPES if not event_type.customer_visible)
OUTAGE: tuple[type[IncidentEvent], ...] = get_args(get_args(AnyIncidentEvent)[0])
# Everything a customer reads about: their ticket's steps and the outages that hit them.
NEWS: tuple[type[CustomerNews], ...] = (*VISIBLE, *OUTAGE)
TRANSLATED = tuple(language for language in Language if language is not FALLBACK_LANGUAGE)
INCIDENT_ID = "INC-0123456789ABCDEF"
OUTAGE_TITLE = "Calls to Madrid fail on carrier route 7"

# A value for every field an event may carry; a new field needs an example here.
FIELD_EXAMPLES: dict[str, Any] = {
    "details": details(),
    "follow_up_of": "TCK-00000000000000AA",
    "reason": "Which of your numbers are affected?",
    "team": Team.LEVEL_2,
    "teams": [Team.LEVEL_2],
    "priority": Priority.P2,
    "tier": "level_2",
    "from_status": TicketStatus.INVESTIGATING,
    "to_status": TicketStatus.AWAITING_CONFIRMATION,
    "development_ticket_id": "DEV-4711",
    "summary": "Fix the codec negotiation",
    "confirm_by": later(days=3),
    "comment": "Still choppy this morning.",
    "reopen_count": 1,
    "message": "We traced the problem to one carrier route and moved your calls off it.",
    "text": "Customer is on the legacy trunk.",
    "call_ids": ["c-20261125-0002"],
    "next_update_by": later(hours=4),
    "clock": "resolution",
    "due_at": later(hours=8),
    "from_tier": "level_1",
    "to_tier": "level_2",
    "alternative": "port the number to an alternative carrier route",
    "incident_id": INCIDENT_ID,
    "title": OUTAGE_TITLE,
    "from_priority": Priority.P3,
}


def example(event_type: type[Event], **fields: Any) -> Event:
    """An event of this type for the example ticket, every field it has filled in."""
    own = {
        name: FIELD_EXAMPLES[name]
        for name in event_type.model_fields
        if name not in Event.model_fields and name not in {"type", "schema_version"}
    }
    return event_type(
        event_id=f"event-{event_type.__name__}",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="acme-telecom",
        actor=CRM,
        reason=FIELD_EXAMPLES["reason"],
        **{**own, **fields},
    )


def outage_example(event_type: type[IncidentEvent], **fields: Any) -> IncidentEvent:
    """An incident event of this type, every field it has filled in."""
    values: dict[str, Any] = {
        "event_id": f"event-{event_type.__name__}",
        "occurred_at": NOW,
        "incident_id": INCIDENT_ID,
        "actor": WORKFLOW,
        "title": OUTAGE_TITLE,
        "severity": Severity.MAJOR,
        "scope": IncidentScope(regions=("eu-south",)),
        "message": "Calls are being moved to another carrier; expect a fix within the hour.",
    }
    if "update_number" in event_type.model_fields:
        values["update_number"] = 2
    return event_type(**{**values, **fields})


def any_example(event_type: type[CustomerNews]) -> CustomerNews:
    if issubclass(event_type, IncidentEvent):
        return outage_example(event_type)
    return example(event_type)


def what_it_names(event: CustomerNews) -> tuple[str, str]:
    """What the subject and the body must name: the ticket, or the outage and its reference."""
    if isinstance(event, IncidentEvent):
        return OUTAGE_TITLE, INCIDENT_ID
    return TICKET_ID, TICKET_ID


def name_of(value: object) -> str:
    return getattr(value, "__name__", str(value))


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    """A copy of the shipped templates, to take apart."""
    return Path(shutil.copytree(SHIPPED_TEMPLATES, tmp_path / "templates"))


@pytest.mark.parametrize("language", Language, ids=str)
@pytest.mark.parametrize("event_type", NEWS, ids=name_of)
def test_every_visible_event_has_a_finished_message_naming_what_it_is_about(
    event_type: type[CustomerNews], language: Language
) -> None:
    event = any_example(event_type)

    message = shipped_templates().render(event, language)

    assert message is not None
    assert message.subject.strip()
    assert message.body.strip()
    assert "\n" not in message.subject
    in_subject, in_body = what_it_names(event)
    assert in_subject in message.subject
    assert in_body in message.body
    for text in (message.subject, message.body):
        assert [marker for marker in ("{{", "}}", "{%", "%}", "{#") if marker in text] == []


@pytest.mark.parametrize("language", TRANSLATED, ids=str)
@pytest.mark.parametrize("event_type", NEWS, ids=name_of)
def test_spanish_and_french_messages_are_really_translated(
    event_type: type[CustomerNews], language: Language
) -> None:
    event = any_example(event_type)

    english = shipped_templates().render(event, FALLBACK_LANGUAGE)
    translated = shipped_templates().render(event, language)

    assert english is not None
    assert translated is not None
    assert translated.subject != english.subject
    assert translated.body != english.body


def test_every_shipped_event_type_has_its_own_template_in_every_language() -> None:
    missing = {
        (event_type.__name__, language.value)
        for event_type in NEWS
        for language in set(Language) - shipped_templates().languages_for(event_type)
    }

    assert missing == set()


@pytest.mark.parametrize("event_type", INTERNAL, ids=name_of)
def test_an_internal_step_has_no_message(event_type: type[Event]) -> None:
    assert shipped_templates().render(example(event_type), Language.ES) is None


def test_what_the_customer_reported_is_quoted_back_in_their_language() -> None:
    event = example(TicketOpened, details=details(summary="Sin tono en el troncal de Madrid"))

    message = shipped_templates().render(event, Language.ES)

    assert message is not None
    assert message.subject == f"Hemos recibido su ticket {TICKET_ID}"
    assert "«Sin tono en el troncal de Madrid»" in message.body


def test_a_deadline_is_shown_in_utc_whatever_zone_it_carries() -> None:
    madrid_afternoon = datetime(2026, 11, 25, 16, 0, tzinfo=timezone(timedelta(hours=1)))

    assert when(madrid_afternoon) == "2026-11-25 15:00 UTC"


@pytest.mark.parametrize("event_type", [ConfirmationRequested, ResolvedWithIncident], ids=name_of)
@pytest.mark.parametrize("language", Language, ids=str)
def test_the_confirmation_request_says_by_when(event_type: type[Event], language: Language) -> None:
    message = shipped_templates().render(example(event_type), language)

    assert message is not None
    assert "2026-11-28 09:30 UTC" in message.body


@pytest.mark.parametrize(
    ("from_status", "english"),
    [
        (TicketStatus.RESOLVED, "Your problem is solved"),
        (TicketStatus.AWAITING_CONFIRMATION, "We did not hear from you"),
    ],
)
def test_a_closed_ticket_says_why_it_closed(from_status: TicketStatus, english: str) -> None:
    event = example(TicketClosed, from_status=from_status, to_status=TicketStatus.CLOSED)

    message = shipped_templates().render(event, Language.EN)

    assert message is not None
    assert message.body.startswith(english)


def test_a_language_without_its_own_template_gets_the_english_message(
    templates_dir: Path,
) -> None:
    (templates_dir / "fr" / "TicketClosed.txt.j2").unlink()
    templates = MessageTemplates(templates_dir)
    event = example(TicketClosed)

    assert templates.render(event, Language.FR) == templates.render(event, Language.EN)
    assert templates.languages_for(TicketClosed) == {Language.EN, Language.ES}
    assert templates.render(example(TicketOpened), Language.FR) != templates.render(
        example(TicketOpened), Language.EN
    )


def test_a_missing_english_template_stops_start_up_naming_the_event(templates_dir: Path) -> None:
    (templates_dir / "en" / "ProgressUpdateSent.txt.j2").unlink()

    with pytest.raises(MessageTemplateError, match=r"ProgressUpdateSent \(en/Progress"):
        MessageTemplates(templates_dir)


@pytest.mark.parametrize(
    ("path", "complaint"),
    [
        ("en/TicketOpend.txt.j2", "TicketOpend is not a customer-visible event type"),
        ("en/TicketTriaged.txt.j2", "TicketTriaged is not a customer-visible event type"),
        ("de/TicketOpened.txt.j2", "unknown language 'de'"),
        ("en/TicketOpened.html", "expected <language>/<EventType>.txt.j2"),
        ("en/extra/TicketOpened.txt.j2", "expected <language>/<EventType>.txt.j2"),
    ],
)
def test_a_template_that_names_nothing_known_stops_start_up(
    templates_dir: Path, path: str, complaint: str
) -> None:
    (templates_dir / path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(templates_dir / "en" / "TicketOpened.txt.j2", templates_dir / path)

    with pytest.raises(MessageTemplateError, match=complaint) as refused:
        MessageTemplates(templates_dir)

    assert path in str(refused.value)


def test_a_template_without_a_body_stops_start_up(templates_dir: Path) -> None:
    (templates_dir / "es" / "FixStarted.txt.j2").write_text(
        '{% extends "_base.txt.j2" %}{% block subject %}{{ ticket_id }}{% endblock %}'
    )

    with pytest.raises(MessageTemplateError, match=r"es/FixStarted.txt.j2: no body block"):
        MessageTemplates(templates_dir)


def test_a_template_that_does_not_parse_stops_start_up_at_its_line(templates_dir: Path) -> None:
    (templates_dir / "fr" / "FixStarted.txt.j2").write_text(
        '{% extends "_base.txt.j2" %}\n{% block subject %}{{ ticket_id }{% endblock %}\n'
    )

    with pytest.raises(TemplateSyntaxError) as refused:
        MessageTemplates(templates_dir)

    assert (refused.value.name, refused.value.lineno) == ("fr/FixStarted.txt.j2", 2)


def test_a_template_using_a_field_the_event_lacks_fails_loudly(templates_dir: Path) -> None:
    (templates_dir / "es" / "FixStarted.txt.j2").write_text(
        '{% extends "_base.txt.j2" %}{% block subject %}{{ ticket_id }}{% endblock %}'
        "{% block body %}{{ confirm_by }}{% endblock %}"
    )
    templates = MessageTemplates(templates_dir)

    with pytest.raises(UndefinedError, match="confirm_by"):
        templates.render(example(FixStarted), Language.ES)


def test_a_subject_is_one_line_whatever_the_event_carries(templates_dir: Path) -> None:
    (templates_dir / "en" / "TicketOpened.txt.j2").write_text(
        '{% extends "_base.txt.j2" %}{% block subject %}{{ details.summary }}{% endblock %}'
        "{% block body %}{{ ticket_id }}{% endblock %}"
    )
    event = example(TicketOpened, details=details(summary="No audio\r\nBcc: victim@example.com"))

    message = MessageTemplates(templates_dir).render(event, Language.EN)

    assert message is not None
    assert message.subject == "No audio Bcc: victim@example.com"


def test_every_visible_event_is_a_kind_of_message_and_no_internal_one_is() -> None:
    assert set(KIND_OF) == set(NEWS)


@pytest.mark.parametrize("language", Language, ids=str)
def test_an_outage_update_says_which_update_it_is_and_what_is_new(language: Language) -> None:
    event = outage_example(IncidentUpdated, update_number=3, message="Route 7 is back for Madrid.")

    message = shipped_templates().render(event, language)

    assert message is not None
    assert "3" in message.subject
    assert "Route 7 is back for Madrid." in message.body


@pytest.mark.parametrize(
    ("language", "impact"),
    [(Language.EN, "critical"), (Language.ES, "crítico"), (Language.FR, "critique")],
)
def test_a_declared_outage_states_its_impact_in_the_customers_language(
    language: Language, impact: str
) -> None:
    event = outage_example(IncidentDeclared, severity=Severity.CRITICAL)

    message = shipped_templates().render(event, language)

    assert message is not None
    assert impact in message.body


def test_an_internal_step_has_no_message_kind() -> None:
    triaged = TicketTriaged(
        event_id="e-triaged",
        occurred_at=NOW,
        ticket_id=TICKET_ID,
        customer_id="acme-telecom",
        actor=WORKFLOW,
        team=Team.LEVEL_2,
        priority=Priority.P2,
        tier="level_2",
    )

    with pytest.raises(KeyError):
        kind_of(triaged)


def test_every_template_file_ships_as_package_data() -> None:
    package = SHIPPED_TEMPLATES.parent
    pyproject = tomllib.loads((package.parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["services.notifier"]

    files = {path for path in SHIPPED_TEMPLATES.rglob("*") if path.is_file()}
    shipped = {path for pattern in patterns for path in package.glob(pattern)}

    assert sorted(files - shipped) == []
