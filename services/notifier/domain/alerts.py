"""Operator alerts: which facts deserve one, the line that tells it, and a digest of many."""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shared.events import SlaBreached
from shared.incidents import IncidentDeclared
from shared.topics import DeadLetterHeader
from shared.vocabulary import Priority

# A message that lists more alerts than this tells the counts and a few of each kind instead.
DETAIL_LIMIT = 5
SAMPLES_PER_KIND = 3
LINE_LIMIT = 400
TEXT_LIMIT = 3500  # well inside what Slack, Mattermost and Teams take in one message
ALERTED_PRIORITIES = frozenset({Priority.P1})


class AlertKind(StrEnum):
    INCIDENT_DECLARED = "incident declared"
    SLA_BREACHED = "SLA breach"
    DEAD_LETTERED = "dead letter"


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    line: str
    source: str = ""  # what several alerts of a kind are counted by (a dead letter's topic)


def incident_declared_alert(event: IncidentDeclared) -> Alert:
    how = "detected from a burst of tickets" if event.detected else f"by {event.actor.name}"
    line = (
        f"Incident {event.incident_id} declared ({event.severity.value}, {how}):"
        f" {event.title}. {event.message}"
    )
    return Alert(AlertKind.INCIDENT_DECLARED, _clipped(line))


def sla_breached_alert(event: SlaBreached) -> Alert | None:
    """Only breaches of the priorities operators are woken for; the rest stay on the topic."""
    if event.priority not in ALERTED_PRIORITIES:
        return None
    line = (
        f"SLA breached: {event.priority.value} ticket {event.ticket_id} of customer"
        f" {event.customer_id} missed its {event.clock.value.replace('_', ' ')} target"
        f" (due {event.due_at:%Y-%m-%d %H:%M} UTC)"
    )
    return Alert(AlertKind.SLA_BREACHED, _clipped(line))


def dead_letter_alert(headers: Mapping[str, str], key: str | None) -> Alert:
    topic = headers.get(DeadLetterHeader.SOURCE_TOPIC) or "an unknown topic"
    where = (
        f"partition {headers.get(DeadLetterHeader.SOURCE_PARTITION, '?')},"
        f" offset {headers.get(DeadLetterHeader.SOURCE_OFFSET, '?')}"
    )
    group = headers.get(DeadLetterHeader.CONSUMER_GROUP) or "a consumer"
    attempts = headers.get(DeadLetterHeader.ATTEMPTS, "?")
    error = headers.get(DeadLetterHeader.ERROR) or "no error recorded"
    line = (
        f"Dead letter: a message from {topic} ({where}, key {key or 'none'}) could not be"
        f" processed by {group} after {attempts} attempt(s): {error}"
    )
    return Alert(AlertKind.DEAD_LETTERED, _clipped(line), source=topic)


@dataclass
class AlertDigest:
    """The alerts of one interval, in bounded memory: counts of all, lines of the first few."""

    total: int = 0
    by_kind: Counter[AlertKind] = field(default_factory=Counter)
    by_source: Counter[tuple[AlertKind, str]] = field(default_factory=Counter)
    samples: dict[AlertKind, list[str]] = field(default_factory=dict)
    first: list[str] = field(default_factory=list)

    def add(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            self.total += 1
            self.by_kind[alert.kind] += 1
            if alert.source:
                self.by_source[alert.kind, alert.source] += 1
            kept = self.samples.setdefault(alert.kind, [])
            if len(kept) < SAMPLES_PER_KIND:
                kept.append(alert.line)
            if len(self.first) < DETAIL_LIMIT:
                self.first.append(alert.line)

    def __bool__(self) -> bool:
        return self.total > 0

    def text(self) -> str:
        """One chat message: every alert when there are few, else a summary and samples."""
        if self.total <= DETAIL_LIMIT:
            lines = [f"Switchboard: {line}" for line in self.first]
        else:
            lines = [self._summary()]
            for kind in AlertKind:
                shown = self.samples.get(kind, [])
                lines += [f"• {line}" for line in shown]
                if (more := self.by_kind[kind] - len(shown)) > 0:
                    lines.append(f"• … and {more} more {_plural(kind, more)}")
            if self.by_kind[AlertKind.DEAD_LETTERED]:
                lines.append("See them with `./switchboard dead-letters list`.")
        return _clipped("\n".join(lines), TEXT_LIMIT)

    def _summary(self) -> str:
        parts = []
        for kind in AlertKind:
            if count := self.by_kind[kind]:
                sources = sorted((n, s) for (k, s), n in self.by_source.items() if k is kind and s)
                among = ", ".join(f"{n} from {s}" for n, s in reversed(sources))
                parts.append(f"{count} {_plural(kind, count)}" + (f" ({among})" if among else ""))
        return f"Switchboard: {self.total} alerts since the last message — {'; '.join(parts)}."


def _plural(kind: AlertKind, count: int) -> str:
    if count == 1:
        return kind.value
    return {
        AlertKind.INCIDENT_DECLARED: "incidents declared",
        AlertKind.SLA_BREACHED: "SLA breaches",
        AlertKind.DEAD_LETTERED: "dead letters",
    }[kind]


def _clipped(text: str, limit: int = LINE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
