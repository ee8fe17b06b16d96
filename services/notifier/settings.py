"""Notifier settings; the defaults suit local development (an SMTP sink on port 1025)."""

import re
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

Seconds = Annotated[float, Field(gt=0)]
Port = Annotated[int, Field(ge=1, le=65535)]


class NotifierSettings(ServiceSettings):
    # A refused value is not echoed back: some (the alert webhook's URL) are secrets.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    notifier_port: Port = 8002
    notifier_group: str = "switchboard-notifier"
    delivery_max_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    delivery_backoff_s: Seconds = 1.0
    delivery_backoff_max_s: Seconds = 300.0
    delivery_concurrency: Annotated[int, Field(ge=1, le=1000)] = 32
    delivery_poll_s: Seconds = 5.0
    delivery_lease_s: Seconds = 30.0
    # Emails wait this long before going out, so a burst about one ticket becomes one email.
    email_hold_s: Annotated[float, Field(ge=0)] = 30.0
    # Outage broadcasts: the audience is cut into chunks of this many customers, shared out
    # over the broadcast topic's partitions; each chunk is delivered by one instance.
    broadcast_chunk_size: Annotated[int, Field(ge=1, le=1000)] = 250
    # Deliveries of broadcast chunks in flight at once in one instance, beside the worker's.
    broadcast_concurrency: Annotated[int, Field(ge=1, le=1000)] = 32
    # Broadcast deliveries under way or done but not yet recorded, at most: all that an
    # instance that dies can send twice. The larger, the less deliveries wait on the store.
    broadcast_unrecorded_max: Annotated[int, Field(ge=1, le=10_000)] = 256
    # Chunks one instance delivers side by side, each from partitions of its own (at most the
    # broadcast topic's partitions are busy); they share the two limits above.
    broadcast_chunk_workers: Annotated[int, Field(ge=1, le=32)] = 3
    # A chunk's owner renews its claim well within this; another instance takes over a
    # chunk whose claim ran out (its owner died) when Kafka hands the chunk to it again.
    broadcast_lease_s: Seconds = 30.0
    # Webhook addresses (with their signing secrets) are read for a broadcast in one pass
    # over the directory and kept this long, rather than looked up customer by customer.
    broadcast_directory_ttl_s: Seconds = 300.0
    webhook_timeout_s: Seconds = 10.0
    webhook_max_concurrent_per_endpoint: Annotated[int, Field(ge=1, le=1000)] = 4
    # Also sign with the legacy `Switchboard-Signature` header beside the Standard Webhooks
    # ones, while receivers move over; off from the next release on.
    webhook_legacy_signature: bool = True
    smtp_host: str = "127.0.0.1"
    smtp_port: Port = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_s: Seconds = 10.0
    mail_from: Annotated[str, Field(min_length=3)] = (
        "Switchboard Support <support@switchboard.example>"
    )
    sms_gateway_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] = (
        "http://127.0.0.1:8090/v1/messages"
    )
    sms_gateway_token: SecretStr = SecretStr("development-sms-token")
    sms_sender: Annotated[str, Field(min_length=1, max_length=16)] = "Switchboard"
    sms_timeout_s: Seconds = 10.0
    # Operator alerts (incident declared, p1 SLA breach, dead letter) as a chat webhook's
    # `{"text": ...}` POST (Slack, Mattermost, Teams workflows); empty: no alerts. A secret.
    alert_webhook_url: SecretStr = SecretStr("")
    # At most one alert message per this long; whatever arrives meanwhile becomes one summary.
    alert_interval_s: Seconds = 10.0
    alert_timeout_s: Seconds = 10.0
    # Longest wait between tries of an alert the chat service did not take.
    alert_backoff_max_s: Seconds = 60.0

    @field_validator("alert_webhook_url")
    @classmethod
    def _alert_webhook_is_http(cls, url: SecretStr) -> SecretStr:
        value = url.get_secret_value()
        if value and not re.fullmatch(r"https?://[^\s/]+/\S*", value):
            raise ValueError("an http(s) URL, or empty for no alerts")
        return url

    @model_validator(mode="after")
    def _smtp_login_is_complete(self) -> "NotifierSettings":
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("set both smtp_username and smtp_password, or neither")
        return self
