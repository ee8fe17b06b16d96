"""Run the notifier service: `python -m services.notifier`."""

import asyncio

from services.notifier.app import create_app
from services.notifier.settings import NotifierSettings
from shared.logs import configure_logging


def main() -> None:
    settings = NotifierSettings()
    configure_logging("switchboard.notifier", settings.log_level)
    asyncio.run(create_app(settings).run())


if __name__ == "__main__":
    main()
