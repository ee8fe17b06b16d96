"""The README's configuration table and topic table match the code."""

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from services.intake.settings import IntakeSettings
from services.notifier.settings import NotifierSettings
from services.workflow.settings import WorkflowSettings
from shared.topics import ALL_TOPICS, Topic

README = (Path(__file__).parents[2] / "README.md").read_text()


def documented_variables() -> set[str]:
    return set(re.findall(r"^\| `(SWITCHBOARD_[A-Z0-9_]+)` \|", README, flags=re.MULTILINE))


@pytest.mark.parametrize("settings", [IntakeSettings, WorkflowSettings, NotifierSettings])
def test_every_setting_is_documented_in_the_readme(settings: type[BaseSettings]) -> None:
    variables = {f"SWITCHBOARD_{name.upper()}" for name in settings.model_fields}

    assert variables - documented_variables() == set()


def test_the_readme_documents_no_setting_that_does_not_exist() -> None:
    known = {
        f"SWITCHBOARD_{name.upper()}"
        for settings in (IntakeSettings, WorkflowSettings, NotifierSettings)
        for name in settings.model_fields
    }

    assert documented_variables() - known == set()


@pytest.mark.parametrize("topic", ALL_TOPICS, ids=lambda t: t.name)
def test_every_topic_is_in_the_readme_with_its_partitions(topic: Topic) -> None:
    row = rf"^\| `{re.escape(topic.name)}` \| [^|]+ \| {topic.partitions} \|"

    assert re.search(row, README, re.MULTILINE)
