"""Settings that hold secrets are `SecretStr`: a settings object printed, logged or dumped as
JSON shows `**********` in their place, and a refused setting does not echo what was given."""

import secrets
import typing

import pytest
from pydantic import SecretStr, ValidationError

from services.intake.settings import IntakeSettings
from services.notifier.settings import NotifierSettings
from services.workflow.settings import WorkflowSettings
from shared.settings import ServiceSettings

SETTINGS = (IntakeSettings, WorkflowSettings, NotifierSettings)
SECRET_WORDS = {"password", "secret", "token", "headers"}


def secret_fields(settings: type[ServiceSettings]) -> list[str]:
    """Fields named as secrets: a word of the name is one of SECRET_WORDS, or it ends in _key."""
    return [
        name
        for name in settings.model_fields
        if SECRET_WORDS & set(name.split("_")) or name.endswith("_key")
    ]


def test_the_known_secrets_are_found_by_their_names() -> None:
    found = {name for settings in SETTINGS for name in secret_fields(settings)}

    assert found >= {"smtp_password", "sms_gateway_token", "console_session_secret"}


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__name__)
def test_every_setting_named_as_a_secret_is_a_secret_str(settings: type[ServiceSettings]) -> None:
    for name in secret_fields(settings):
        annotation = settings.model_fields[name].annotation
        assert SecretStr in (annotation, *typing.get_args(annotation)), name


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__name__)
def test_a_settings_object_never_shows_its_secrets(
    settings: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    values = {name: f"{name}-{secrets.token_urlsafe(16)}" for name in secret_fields(settings)}
    for name, value in values.items():
        monkeypatch.setenv(f"SWITCHBOARD_{name.upper()}", value)
    if "smtp_password" in values:
        monkeypatch.setenv("SWITCHBOARD_SMTP_USERNAME", "mailer")

    built = settings()

    shown = [repr(built), str(built), built.model_dump_json(), repr(built.model_dump())]
    assert [name for name, value in values.items() if any(value in text for text in shown)] == []
    for name, value in values.items():
        secret = getattr(built, name)
        assert isinstance(secret, SecretStr)
        assert secret.get_secret_value() == value  # the services still read the real value


def test_a_refused_smtp_login_does_not_echo_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    password = f"pw-{secrets.token_urlsafe(16)}"
    monkeypatch.setenv("SWITCHBOARD_SMTP_PASSWORD", password)  # without its username
    monkeypatch.delenv("SWITCHBOARD_SMTP_USERNAME", raising=False)

    with pytest.raises(ValidationError) as refused:
        NotifierSettings()

    assert "smtp_username" in str(refused.value)
    assert password not in str(refused.value)  # what a service that cannot start prints


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__name__)
def test_a_refused_setting_is_named_but_not_echoed(
    settings: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    pasted = f"sb_{secrets.token_urlsafe(16)}"  # a secret set on the wrong variable by mistake
    monkeypatch.setenv("SWITCHBOARD_KAFKA_REQUEST_TIMEOUT_MS", pasted)

    with pytest.raises(ValidationError) as refused:
        settings()

    assert "kafka_request_timeout_ms" in str(refused.value)
    assert pasted not in str(refused.value)
