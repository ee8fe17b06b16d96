"""Workflow settings."""

from pathlib import Path
from typing import Annotated

from pydantic import Field

from shared.settings import ServiceSettings

DEFAULT_RULES = Path(__file__).with_name("rules.toml")


class WorkflowSettings(ServiceSettings):
    rules_path: Path = DEFAULT_RULES
    workflow_port: Annotated[int, Field(ge=1, le=65535)] = 8001
    workflow_group: str = "switchboard-workflow"
    relay_interval_s: Annotated[float, Field(gt=0)] = 10.0
    relay_grace_s: Annotated[float, Field(ge=0)] = 5.0
    scheduler_interval_s: Annotated[float, Field(gt=0)] = 5.0
    timer_lease_s: Annotated[float, Field(gt=0)] = 30.0
