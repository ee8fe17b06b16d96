"""Kafka entry points of the workflow: translate a message into a call on the core."""

from faststream.kafka import KafkaRouter

from services.workflow.tickets import TicketCommands
from shared.events import TicketCommand
from shared.topics import TICKET_COMMANDS


def build_router(commands: TicketCommands, group_id: str) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        TICKET_COMMANDS.name,
        group_id=group_id,
        auto_offset_reset="earliest",
        title="ticket-commands",
        description=TICKET_COMMANDS.description,
    )
    async def on_ticket_command(command: TicketCommand) -> None:
        await commands.handle(command)

    return router
