"""Intake settings."""

from typing import Annotated

from pydantic import Field

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
