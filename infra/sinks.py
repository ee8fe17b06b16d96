"""Local development sinks: an SMTP server and an SMS-gateway stand-in that keep what they get.

`up` starts them where the notifier's email and SMS settings point, so every channel works
on a development machine. Each sink appends what it accepts to a JSON-lines file under the
state folder (`sinks/email.jsonl`, `sinks/sms.jsonl`), read by `./switchboard sinks` and
served as a page at the gateway's root.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

KEEP = 1000  # messages kept per sink; the file is cut back to these when it doubles
TEXT_LIMIT = 4000  # characters of an email body kept
SMS_FIELDS = ("to", "from", "text")


class MessageLog:
    """The last `keep` messages of one sink, in memory and as JSON lines in a file."""

    def __init__(self, path: Path, keep: int = KEEP) -> None:
        self.path = path
        self._keep = keep
        self._recent: deque[dict[str, Any]] = deque(read_messages(path), maxlen=keep)
        self._lines = len(self._recent)

    def append(self, message: dict[str, Any]) -> None:
        self._recent.append(message)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._lines >= 2 * self._keep:
            self._rewrite()
            return
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(message, ensure_ascii=False) + "\n")
        self._lines += 1

    def recent(self) -> list[dict[str, Any]]:
        return list(self._recent)

    def _rewrite(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        lines = (json.dumps(message, ensure_ascii=False) + "\n" for message in self._recent)
        tmp.write_text("".join(lines), encoding="utf-8")
        tmp.replace(self.path)  # a reader sees the old file or the new one, never half
        self._lines = len(self._recent)


def read_messages(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The messages in a sink's file, oldest first (the last `limit` of them)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    if lines and not lines[-1].endswith("}"):
        lines.pop()  # a line the sink is writing right now
    messages = [json.loads(line) for line in lines if line]
    return messages[-limit:] if limit else messages


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class MailSink:
    """An aiosmtpd handler that accepts every message and records it."""

    def __init__(self, log: MessageLog) -> None:
        self.log = log

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        content = raw if isinstance(raw, bytes) else raw.encode()
        message = message_from_bytes(content, policy=default)
        assert isinstance(message, EmailMessage)  # the `default` policy builds EmailMessage
        self.log.append(
            {
                "received_at": _now(),
                "mail_from": envelope.mail_from,
                "rcpt_to": list(envelope.rcpt_tos),
                "subject": str(message["Subject"] or ""),
                "message_id": str(message["Message-ID"] or ""),
                "notification_id": str(message["X-Switchboard-Notification-Id"] or ""),
                "body": _plain_body(message)[:TEXT_LIMIT],
            }
        )
        return "250 Message accepted for delivery"


def _plain_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if not isinstance(part, EmailMessage):
        return ""
    return "\n".join(str(part.get_content()).splitlines()).strip()  # SMTP lines end in CRLF


@dataclass
class SmsGateway:
    """Answers SMS POSTs as a gateway would: bearer token, fields checked, keys deduplicated."""

    log: MessageLog
    _ids_by_key: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for message in self.log.recent():
            if message.get("idempotency_key"):
                self._ids_by_key[message["idempotency_key"]] = message["id"]

    async def accept(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").removeprefix("Bearer ").strip():
            return web.json_response({"error": "a bearer token is required"}, status=401)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        invalid = _invalid_sms_field(body)
        if invalid:
            return web.json_response({"error": f"{invalid} must be a non-empty string"}, status=422)
        key = request.headers.get("Idempotency-Key") or body.get("reference")
        if key and key in self._ids_by_key:  # a retry: accepted before, not sent twice
            return web.json_response({"id": self._ids_by_key[key], "status": "accepted"})
        message_id = f"sms-{uuid.uuid4().hex[:16]}"
        if key:
            self._ids_by_key[key] = message_id
        self.log.append(
            {"received_at": _now(), "id": message_id, "idempotency_key": key}
            | {name: body.get(name) for name in (*SMS_FIELDS, "reference")}
        )
        return web.json_response({"id": message_id, "status": "accepted"}, status=202)

    async def list_messages(self, _request: web.Request) -> web.Response:
        return web.json_response({"messages": self.log.recent()[-50:]})


def _invalid_sms_field(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body"
    return next((f for f in SMS_FIELDS if not isinstance(body.get(f), str) or not body[f]), None)


@dataclass(frozen=True)
class SinkAddresses:
    """Where the sinks listen: the SMTP host and port, the SMS gateway's endpoint URL."""

    smtp_host: str
    smtp_port: int
    sms_url: str


class DevelopmentSinks:
    """The SMTP sink and the SMS gateway stand-in, served on the running event loop."""

    def __init__(self, data_dir: Path, addresses: SinkAddresses) -> None:
        self.addresses = addresses
        self.mail = MailSink(MessageLog(data_dir / "email.jsonl"))
        self.sms = SmsGateway(MessageLog(data_dir / "sms.jsonl"))
        self._smtp_server: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None

    async def start_mail(self) -> None:
        host, port = self.addresses.smtp_host, self.addresses.smtp_port
        loop = asyncio.get_running_loop()
        self._smtp_server = await loop.create_server(
            lambda: SMTP(self.mail, hostname="switchboard-sink"), host, port
        )

    async def start_sms(self) -> None:
        url = urlsplit(self.addresses.sms_url)
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post(url.path or "/", self.sms.accept)
        app.router.add_get(url.path or "/", self.sms.list_messages)
        if url.path not in ("", "/"):
            app.router.add_get("/", self.page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, url.hostname, url.port or 80).start()

    async def page(self, _request: web.Request) -> web.Response:
        return web.Response(text=sinks_report(self.mail.log.recent(), self.sms.log.recent()))

    async def stop(self) -> None:
        if self._smtp_server is not None:
            self._smtp_server.close()
            await self._smtp_server.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()


def sinks_report(emails: list[dict[str, Any]], sms: list[dict[str, Any]], last: int = 10) -> str:
    """The last emails and SMS, newest last, as plain text for a terminal or a page."""
    lines = [f"Email ({len(emails)} kept, last {min(last, len(emails))}):"]
    for mail in emails[-last:]:
        lines.append(f"  {mail['received_at']}  to {', '.join(mail['rcpt_to'])}: {mail['subject']}")
        lines.extend(f"      {line}" for line in mail["body"].splitlines()[:6])
    lines.append(f"SMS ({len(sms)} kept, last {min(last, len(sms))}):")
    for text in sms[-last:]:
        lines.append(f"  {text['received_at']}  to {text['to']} from {text['from']} ({text['id']})")
        lines.extend(f"      {line}" for line in str(text["text"]).splitlines())
    return "\n".join(lines) + "\n"
