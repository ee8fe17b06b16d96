"""Run the intake service: `python -m services.intake`."""

import uvicorn

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.logs import configure_logging


def main() -> None:
    settings = IntakeSettings()
    configure_logging("switchboard.intake", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.intake_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
