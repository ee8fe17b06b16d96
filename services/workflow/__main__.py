"""Run the workflow service: `python -m services.workflow`."""

import asyncio

from services.workflow.app import create_app
from services.workflow.settings import WorkflowSettings
from shared.logs import configure_logging


def main() -> None:
    settings = WorkflowSettings()
    configure_logging("switchboard.workflow", settings.log_level)
    asyncio.run(create_app(settings).run())


if __name__ == "__main__":
    main()
