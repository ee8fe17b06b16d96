"""Request bodies of the actions on a ticket: strict, so a misspelt field is a 422 naming it."""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events import Reason, Text
from shared.vocabulary import CallId, DevelopmentStatus, Team, TicketStatus

DevelopmentTicketId = Annotated[str, Field(pattern=r"^DEV-[0-9A-Z]{16}$")]


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssignmentRequest(ActionRequest):
    """A new owning `team`, or teams to involve (`add_teams`), or both."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["team"], "properties": {"team": {"type": "string"}}},
                {"required": ["add_teams"], "properties": {"add_teams": {"minItems": 1}}},
            ]
        }
    )

    team: Annotated[Team | None, Field(description="The new owning team")] = None
    add_teams: Annotated[
        list[Team], Field(max_length=len(Team), description="Teams to involve as well")
    ] = []
    reason: Reason = ""

    @model_validator(mode="after")
    def _names_a_team(self) -> Self:
        if self.team is None and not self.add_teams:
            raise ValueError("name a new owning `team`, or teams to involve in `add_teams`")
        return self


class StatusRequest(ActionRequest):
    status: TicketStatus
    reason: Annotated[Reason, Field(description="Sent to the customer with the change")] = ""


class PublicUpdateRequest(ActionRequest):
    message: Annotated[Text, Field(description="Sent to the customer")]


class InternalNoteRequest(ActionRequest):
    text: Annotated[Text, Field(description="For agents only; never sent to the customer")]


class CommentRequest(ActionRequest):
    message: Text


class CallIdsRequest(ActionRequest):
    call_ids: Annotated[list[CallId], Field(min_length=1, max_length=100)]
    reason: Reason = ""


class DevelopmentRequest(ActionRequest):
    summary: Annotated[Text, Field(description="What needs to change in the code")]
    reason: Reason = ""


class DevelopmentProgressRequest(ActionRequest):
    development_ticket_id: DevelopmentTicketId
    status: Literal[
        DevelopmentStatus.FIX_IN_PROGRESS, DevelopmentStatus.TESTING, DevelopmentStatus.DEPLOYED
    ]
    reason: Reason = ""


class ConfirmationRequest(ActionRequest):
    comment: Reason = ""


class ReopenRequest(ActionRequest):
    comment: Annotated[Reason, Field(description="What still goes wrong")] = ""
