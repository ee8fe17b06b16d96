"""Notifier settings."""

from typing import Annotated

from pydantic import Field

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    notifier_port: Annotated[int, Field(ge=1, le=65535)] = 8002
    notifier_group: str = "switchboard-notifier"
    delivery_max_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    delivery_backoff_s: Annotated[float, Field(gt=0)] = 1.0
    delivery_backoff_max_s: Annotated[float, Field(gt=0)] = 300.0
    delivery_concurrency: Annotated[int, Field(ge=1, le=1000)] = 32
    delivery_poll_s: Annotated[float, Field(gt=0)] = 1.0
    delivery_lease_s: Annotated[float, Field(gt=0)] = 30.0
    webhook_timeout_s: Annotated[float, Field(gt=0)] = 10.0
