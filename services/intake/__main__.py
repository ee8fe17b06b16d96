"""Run the intake service: `python -m services.intake`."""

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.logs import configure_logging
from shared.serving import serve


def main() -> None:
    settings = IntakeSettings()
    configure_logging("switchboard.intake", settings.log_level)
    serve(create_app(settings), settings.http_host, settings.intake_port)


if __name__ == "__main__":
    main()
