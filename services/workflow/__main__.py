"""Run the workflow service: `python -m services.workflow`."""

from services.workflow.app import create_app
from services.workflow.settings import WorkflowSettings
from shared.logs import configure_logging
from shared.serving import serve


def main() -> None:
    settings = WorkflowSettings()
    configure_logging("switchboard.workflow", settings.log_level)
    serve(create_app(settings), settings.http_host, settings.workflow_port)


if __name__ == "__main__":
    main()
