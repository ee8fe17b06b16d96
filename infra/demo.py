"""`python -m infra.demo`: post a sample ticket to the running platform, show what was sent."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx

from infra.paths import env_port
from services.intake.apikeys import issue_key
from services.intake.settings import IntakeSettings
from services.notifier.domain.signature import SIGNATURE_HEADER, verify
from shared.vocabulary import Role

SECRET = "demo-signing-secret-0123456789"  # noqa: S105 - the demo customer's, shown on purpose


class _Receiver(BaseHTTPRequestHandler):
    """The customer's webhook endpoint: keeps what arrives."""

    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def run_demo(intake_url: str) -> int:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/switchboard"
    settings = IntakeSettings()
    system_key = await issue_key(settings, "demo-crm", Role.SYSTEM, None)
    agent_key = await issue_key(settings, "demo-agent", Role.AGENT, None)
    customer = f"demo-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=intake_url, timeout=30) as client:
        await client.put(
            f"/v1/customers/{customer}",
            json={
                "name": "Demo Telecom",
                "contacts": [
                    {
                        "contact_id": "ops",
                        "name": "NOC",
                        "language": "en",
                        "webhook": {"url": hook, "secret": SECRET},
                    }
                ],
            },
            headers={"X-API-Key": agent_key},
        )
        call_id = f"call-{uuid.uuid4().hex[:10]}"
        ticket: dict[str, Any] = {
            "customer_id": customer,
            "category": "call_quality",
            "summary": "One-way audio on calls to +34 91",
            "description": "Callers can hear us, we cannot hear them, since this morning.",
            "call_ids": [call_id],
            "affected_users": 4,
            "reporting_system": "demo-crm",
        }
        accepted = await client.post(
            "/v1/tickets",
            json=ticket,
            headers={"X-API-Key": system_key, "Idempotency-Key": str(uuid.uuid4())},
        )
        _show("POST /v1/tickets", accepted.status_code, accepted.json())
        ticket_id = accepted.json()["ticket_id"]
        headers = {"X-API-Key": agent_key}
        for _ in range(100):
            if _Receiver.received:
                break
            await asyncio.sleep(0.1)
        found = await client.get("/v1/tickets", params={"call_id": call_id}, headers=headers)
        _show(f"GET /v1/tickets?call_id={call_id}", found.status_code, found.json())
        notes = await client.get(f"/v1/customers/{customer}/notifications", headers=headers)
        _show(f"GET /v1/customers/{customer}/notifications", notes.status_code, notes.json())
    receiver.shutdown()
    if not _Receiver.received:
        print(f"no webhook arrived for {ticket_id}", file=sys.stderr)
        return 1
    hook_headers, body = _Receiver.received[0]
    signed = verify(SECRET, hook_headers[SIGNATURE_HEADER], body, int(time.time()))
    _show(f"webhook received at {hook} (signature valid: {signed})", 200, json.loads(body))
    return 0 if signed else 1


def _show(title: str, status: int, payload: Any) -> None:
    print(f"\n== {title} -> {status}\n{json.dumps(payload, indent=2)}")


def main() -> int:
    port = env_port("SWITCHBOARD_INTAKE_PORT", 8000)
    return asyncio.run(run_demo(f"http://127.0.0.1:{port}"))


if __name__ == "__main__":
    sys.exit(main())
