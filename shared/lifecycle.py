"""The support lifecycle as data: which step may follow which status, and where it leads.

Pure and shared: the workflow applies it, intake checks it up front to answer 409 at once.
"""

from enum import StrEnum

from shared.errors import DomainError
from shared.vocabulary import DevelopmentStatus
from shared.vocabulary import TicketStatus as S


class Step(StrEnum):
    """A move in the support process, named by what someone does."""

    START_INVESTIGATION = "start_investigation"
    REQUEST_CUSTOMER_INPUT = "request_customer_input"
    CUSTOMER_RESPONDED = "customer_responded"
    OPEN_DEVELOPMENT = "open_development"
    START_FIX = "start_fix"
    START_TESTING = "start_testing"
    DEPLOY = "deploy"
    REQUEST_CONFIRMATION = "request_confirmation"
    CONFIRM_RESOLUTION = "confirm_resolution"
    REOPEN = "reopen"
    CLOSE = "close"
    RESOLVE_WITH_INCIDENT = "resolve_with_incident"  # the workflow's, when an outage ends


TRANSITIONS: dict[S, dict[Step, S]] = {
    S.OPENED: {},  # opened and triaged in one decision; never observed between the two
    S.TRIAGED: {
        Step.START_INVESTIGATION: S.INVESTIGATING,
        Step.REQUEST_CUSTOMER_INPUT: S.WAITING_ON_CUSTOMER,
        Step.OPEN_DEVELOPMENT: S.DEVELOPMENT,
        Step.REQUEST_CONFIRMATION: S.AWAITING_CONFIRMATION,
        Step.RESOLVE_WITH_INCIDENT: S.AWAITING_CONFIRMATION,
    },
    S.INVESTIGATING: {
        Step.REQUEST_CUSTOMER_INPUT: S.WAITING_ON_CUSTOMER,
        Step.OPEN_DEVELOPMENT: S.DEVELOPMENT,
        Step.START_FIX: S.FIX_IN_PROGRESS,
        Step.REQUEST_CONFIRMATION: S.AWAITING_CONFIRMATION,
        Step.RESOLVE_WITH_INCIDENT: S.AWAITING_CONFIRMATION,
    },
    S.WAITING_ON_CUSTOMER: {
        Step.CUSTOMER_RESPONDED: S.INVESTIGATING,
        Step.START_INVESTIGATION: S.INVESTIGATING,
        Step.RESOLVE_WITH_INCIDENT: S.AWAITING_CONFIRMATION,
    },
    S.DEVELOPMENT: {
        Step.START_FIX: S.FIX_IN_PROGRESS,
        Step.RESOLVE_WITH_INCIDENT: S.AWAITING_CONFIRMATION,
    },
    S.FIX_IN_PROGRESS: {
        Step.START_TESTING: S.TESTING,
        Step.RESOLVE_WITH_INCIDENT: S.AWAITING_CONFIRMATION,
    },
    S.TESTING: {
        Step.DEPLOY: S.DEPLOYED,
        Step.START_FIX: S.FIX_IN_PROGRESS,  # the fix failed its tests
        Step.RESOLVE_WITH_INCIDENT: S.AWAITING_CONFIRMATION,
    },
    S.DEPLOYED: {
        Step.REQUEST_CONFIRMATION: S.AWAITING_CONFIRMATION,
        Step.RESOLVE_WITH_INCIDENT: S.AWAITING_CONFIRMATION,
    },
    S.AWAITING_CONFIRMATION: {
        Step.CONFIRM_RESOLUTION: S.RESOLVED,
        Step.REOPEN: S.INVESTIGATING,
        Step.CLOSE: S.CLOSED,  # no answer within the confirmation window
    },
    S.RESOLVED: {Step.CLOSE: S.CLOSED, Step.REOPEN: S.INVESTIGATING},
    S.CLOSED: {},  # a closed ticket stays closed; a new report becomes a follow-up ticket
}

# The step an agent's "set the status to X" means, from wherever the ticket is.
STEP_TO_REACH: dict[S, Step] = {
    S.INVESTIGATING: Step.START_INVESTIGATION,
    S.WAITING_ON_CUSTOMER: Step.REQUEST_CUSTOMER_INPUT,
    S.FIX_IN_PROGRESS: Step.START_FIX,
    S.TESTING: Step.START_TESTING,
    S.DEPLOYED: Step.DEPLOY,
    S.AWAITING_CONFIRMATION: Step.REQUEST_CONFIRMATION,
    S.CLOSED: Step.CLOSE,
}

# The step a development ticket's progress means for its support ticket.
DEVELOPMENT_STEPS: dict[DevelopmentStatus, Step] = {
    DevelopmentStatus.FIX_IN_PROGRESS: Step.START_FIX,
    DevelopmentStatus.TESTING: Step.START_TESTING,
    DevelopmentStatus.DEPLOYED: Step.DEPLOY,
}

# Where the clocks stop: no keep-in-loop updates and no breaches.
CLOCKS_PAUSED = frozenset({S.WAITING_ON_CUSTOMER})
CLOCKS_STOPPED = frozenset({S.AWAITING_CONFIRMATION, S.RESOLVED, S.CLOSED})


class IllegalTransition(DomainError):
    """A step the ticket's status does not allow; says which steps it does allow."""

    def __init__(self, status: S, attempted: str) -> None:
        self.status = status
        self.allowed = allowed_steps(status)
        allowed = ", ".join(self.allowed) or "none: the ticket is closed"
        super().__init__(f"cannot {attempted} while {status.value}; allowed next: {allowed}")


# Steps only the workflow takes on its own; never offered to a person as a next step.
WORKFLOW_STEPS = frozenset({Step.RESOLVE_WITH_INCIDENT})


def allowed_steps(status: S) -> list[Step]:
    """The steps a person may take next from `status`."""
    return [step for step in TRANSITIONS[status] if step not in WORKFLOW_STEPS]


def next_status(status: S, step: Step) -> S:
    try:
        return TRANSITIONS[status][step]
    except KeyError:
        raise IllegalTransition(status, step.value.replace("_", " ")) from None
