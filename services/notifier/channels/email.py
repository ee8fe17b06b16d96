"""Email channel: a plain-text message over SMTP, identified by the notification id."""

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr

import aiosmtplib

from services.notifier.channels.base import DeliveryResult
from services.notifier.domain.digest import digest_message
from services.notifier.settings import NotifierSettings
from shared.customers import Contact
from shared.mongo import Document

NOTIFICATION_ID_HEADER = "X-Switchboard-Notification-Id"
_PERMANENT = 500  # SMTP 5xx replies are permanent (RFC 5321 4.2.1); 4xx are worth retrying


def email_message(notification: Document, sender: str, to: str) -> EmailMessage:
    """The message a receiver can deduplicate on: Message-ID and a header carry the id."""
    message = EmailMessage(policy=SMTP)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "switchboard.invalid"
    message["From"] = sender
    message["To"] = to
    subject, body = digest_message(notification)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{notification['_id']}@{domain}>"
    message[NOTIFICATION_ID_HEADER] = notification["_id"]
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders stay quiet
    message.set_content(body)
    if notification.get("language"):  # after set_content, which replaces every Content-* header
        message["Content-Language"] = notification["language"]
    return message


class EmailChannel:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._username, self._password = username, password
        self._starttls = starttls
        self._timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: NotifierSettings) -> "EmailChannel":
        password = settings.smtp_password
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            username=settings.smtp_username,
            password=password.get_secret_value() if password else None,
            starttls=settings.smtp_starttls,
            timeout_s=settings.smtp_timeout_s,
        )

    async def deliver(self, notification: Document, contact: Contact) -> DeliveryResult:
        to = notification.get("address") or contact.email
        if contact.email is None or to is None:
            return DeliveryResult(
                delivered=False, error="no email address any more", retryable=False
            )
        try:
            await aiosmtplib.send(
                email_message(notification, self._sender, to),
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                timeout=self._timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            return failure_of(error)
        return DeliveryResult(delivered=True)


def failure_of(error: Exception) -> DeliveryResult:
    """5xx replies are permanent; 4xx replies, login and connection trouble are worth retrying."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        first = error.recipients[0]
        return _refused(min(r.code for r in error.recipients), first.message)
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        # Our credentials, not the recipient: retry once the configuration is fixed.
        return DeliveryResult(delivered=False, error=f"SMTP login refused: {error.message}")
    if isinstance(error, aiosmtplib.SMTPResponseException) and not isinstance(
        error, aiosmtplib.SMTPConnectError
    ):
        return _refused(error.code, error.message)
    return DeliveryResult(delivered=False, error=f"{type(error).__name__}: {error}")


def _refused(code: int, message: str) -> DeliveryResult:
    return DeliveryResult(
        delivered=False,
        status_code=code,
        error=f"SMTP {code}: {message}"[:500],
        retryable=code < _PERMANENT,
    )
