"""Run the workflow service: `python -m services.workflow`."""

import uvicorn

from services.workflow.app import create_app
from services.workflow.settings import WorkflowSettings
from shared.logs import configure_logging


def main() -> None:
    settings = WorkflowSettings()
    configure_logging("switchboard.workflow", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.workflow_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
