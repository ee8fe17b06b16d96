"""Intake settings."""

from typing import Annotated

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings

MIB = 1024 * 1024


class IntakeSettings(ServiceSettings):
    intake_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    publish_timeout_s: Annotated[float, Field(gt=0)] = 8.0
    retry_after_s: Annotated[int, Field(ge=1)] = 5
    api_key_cache_s: Annotated[float, Field(ge=0)] = 30.0
    max_body_bytes: Annotated[int, Field(ge=1024)] = MIB
    rate_limit_per_s: Annotated[float, Field(gt=0)] = 1000.0
    rate_limit_burst: Annotated[int, Field(ge=1)] = 2000
    # The operator console: how long a browser session lasts, the key its cookies are signed
    # with (random per process when unset: set it when several intake instances serve one
    # console), how many open tickets its board holds, how often it reads consumer lag.
    console_session_s: Annotated[int, Field(ge=60, le=86_400)] = 3600
    console_session_secret: SecretStr | None = None
    console_board_limit: Annotated[int, Field(ge=10, le=2000)] = 300
    console_lag_poll_s: Annotated[float, Field(ge=1)] = 5.0
