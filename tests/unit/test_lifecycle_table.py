"""The lifecycle table: every (status, step) pair either leads where the table says or is
refused, naming exactly the steps the status allows."""

import pytest

from shared.lifecycle import (
    CLOCKS_PAUSED,
    CLOCKS_STOPPED,
    STEP_TO_REACH,
    TRANSITIONS,
    WORKFLOW_STEPS,
    IllegalTransition,
    Step,
    allowed_steps,
    next_status,
)
from shared.vocabulary import TicketStatus as S

ALL_PAIRS = [(status, step) for status in S for step in Step]
LEGAL = [(status, step) for status, step in ALL_PAIRS if step in TRANSITIONS[status]]
ILLEGAL = [(status, step) for status, step in ALL_PAIRS if step not in TRANSITIONS[status]]


def pair_id(pair: tuple[S, Step]) -> str:
    return f"{pair[0].value}-{pair[1].value}"


def test_the_table_has_a_row_for_every_status() -> None:
    assert set(TRANSITIONS) == set(S)


def test_the_pairs_are_split_into_legal_and_illegal_ones() -> None:
    assert len(LEGAL) + len(ILLEGAL) == len(S) * len(Step)
    assert LEGAL, "no step is allowed anywhere"


@pytest.mark.parametrize(("status", "step"), LEGAL, ids=[pair_id(p) for p in LEGAL])
def test_a_legal_step_leads_where_the_table_says(status: S, step: Step) -> None:
    assert next_status(status, step) is TRANSITIONS[status][step]


@pytest.mark.parametrize(("status", "step"), ILLEGAL, ids=[pair_id(p) for p in ILLEGAL])
def test_an_illegal_step_is_refused_naming_the_steps_allowed(status: S, step: Step) -> None:
    with pytest.raises(IllegalTransition) as refused:
        next_status(status, step)

    error = refused.value
    assert error.status is status
    assert error.allowed == [s for s in TRANSITIONS[status] if s not in WORKFLOW_STEPS]
    assert error.allowed == allowed_steps(status)
    message = str(error)
    assert message.startswith(f"cannot {step.value.replace('_', ' ')} while {status.value};")
    named = message.split("allowed next: ", 1)[1]
    if error.allowed:
        assert named.split(", ") == [allowed.value for allowed in error.allowed]
    else:
        assert named == "none: the ticket is closed"


@pytest.mark.parametrize("status", list(S), ids=[s.value for s in S])
def test_the_workflows_own_steps_are_never_offered_to_a_person(status: S) -> None:
    assert not set(allowed_steps(status)) & WORKFLOW_STEPS


def test_a_closed_ticket_allows_nothing() -> None:
    assert TRANSITIONS[S.CLOSED] == {}
    assert allowed_steps(S.CLOSED) == []


@pytest.mark.parametrize(
    ("target", "step"), STEP_TO_REACH.items(), ids=[s.value for s in STEP_TO_REACH]
)
def test_the_step_to_reach_a_status_leads_there_from_somewhere(target: S, step: Step) -> None:
    assert any(moves.get(step) is target for moves in TRANSITIONS.values())


@pytest.mark.parametrize(
    ("target", "step"), STEP_TO_REACH.items(), ids=[s.value for s in STEP_TO_REACH]
)
def test_the_step_to_reach_a_status_leads_nowhere_else(target: S, step: Step) -> None:
    destinations = {moves[step] for moves in TRANSITIONS.values() if step in moves}

    assert destinations == {target}


def test_every_status_past_opening_is_reached_by_some_step() -> None:
    reached = {target for moves in TRANSITIONS.values() for target in moves.values()}

    assert reached == set(S) - {S.OPENED, S.TRIAGED}  # opening a ticket triages it


def test_every_status_a_ticket_rests_at_leads_to_closed_eventually() -> None:
    def reaches_closed(status: S, seen: frozenset[S]) -> bool:
        return status is S.CLOSED or any(
            reaches_closed(after, seen | {status})
            for after in TRANSITIONS[status].values()
            if after not in seen
        )

    dead_ends = [s for s in S if s is not S.OPENED and not reaches_closed(s, frozenset())]

    assert dead_ends == []


def test_clocks_pause_only_while_work_goes_on_and_stop_once_it_is_done() -> None:
    assert not CLOCKS_PAUSED & CLOCKS_STOPPED
    assert {S.WAITING_ON_CUSTOMER} == CLOCKS_PAUSED
    assert {S.AWAITING_CONFIRMATION, S.RESOLVED, S.CLOSED} == CLOCKS_STOPPED
