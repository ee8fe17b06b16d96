"""Settings every service shares; each service extends them. Built by callers, never at import."""

from enum import StrEnum
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """Read from `SWITCHBOARD_*` environment variables (or a `.env` file)."""

    # A refused value is named but never echoed: it may be a secret set on the wrong variable.
    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    environment: Environment = Environment.DEVELOPMENT
    kafka_bootstrap: str = "127.0.0.1:9092"
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_database: str = "switchboard"
    log_level: str = "INFO"
    kafka_request_timeout_ms: Annotated[int, Field(ge=1000)] = 5000
    http_host: str = "127.0.0.1"
    # The most messages a busy consumer takes from one poll and commits at once; a ticket's
    # messages stay in order while different tickets in the batch are worked on side by side.
    consumer_batch: Annotated[int, Field(ge=1, le=5000)] = 500
    # Prometheus metrics at /metrics on the service's HTTP port.
    metrics_enabled: bool = True
    # OpenTelemetry traces exported by OTLP/HTTP to this collector (its base URL); empty: off.
    otlp_endpoint: str = ""
    # The share of new traces kept (a trace begun elsewhere keeps its caller's choice).
    trace_sample_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
