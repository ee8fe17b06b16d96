"""Run the notifier service: `python -m services.notifier`."""

import uvicorn

from services.notifier.app import create_app
from services.notifier.settings import NotifierSettings
from shared.logs import configure_logging


def main() -> None:
    settings = NotifierSettings()
    configure_logging("switchboard.notifier", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.notifier_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
