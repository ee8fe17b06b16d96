"""Run the notifier service: `python -m services.notifier`."""

from services.notifier.app import create_app
from services.notifier.settings import NotifierSettings
from shared.logs import configure_logging
from shared.serving import serve


def main() -> None:
    settings = NotifierSettings()
    configure_logging("switchboard.notifier", settings.log_level)
    serve(create_app(settings), settings.http_host, settings.notifier_port)


if __name__ == "__main__":
    main()
