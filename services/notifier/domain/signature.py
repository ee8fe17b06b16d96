"""Webhook signatures: the Standard Webhooks scheme, and the legacy `Switchboard-Signature`.

Standard Webhooks (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
`webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, so receivers
verify with the existing libraries. The legacy header, `t=<timestamp>,v1=<hex HMAC-SHA256 of
"<timestamp>.<body>">`, is still sent for one release while receivers move over.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "Switchboard-Signature"  # the legacy header
WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"
# The spec's form of a secret: "whsec_" and the base64 of the key's bytes.
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_VERSION = "v1"


def signing_key(secret: str) -> bytes:
    """The HMAC key a secret stands for.

    A `whsec_<base64>` secret is its decoded bytes, as the spec has it; any other secret (the
    free-form ones customers already hold) is its UTF-8 bytes, which a receiver hands to its
    library as bytes: `Webhook(secret.encode())`.
    """
    if secret.startswith(SECRET_PREFIX):
        encoded = secret.removeprefix(SECRET_PREFIX)
        try:  # padding may be left off, as the libraries allow
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            key = b""
        if key:
            return key
    return secret.encode()


def sign_standard(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    mac = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return f"{_VERSION},{base64.b64encode(mac).decode()}"


def signature_headers(
    secret: str, webhook_id: str, timestamp: int, body: bytes, *, legacy: bool
) -> dict[str, str]:
    """The headers that sign one delivery; `webhook_id` stays the same across its retries."""
    headers = {
        WEBHOOK_ID_HEADER: webhook_id,
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        WEBHOOK_SIGNATURE_HEADER: sign_standard(secret, webhook_id, timestamp, body),
    }
    if legacy:
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    return headers


def verify_standard(
    secret: str, headers: Mapping[str, str], body: bytes, now: int, tolerance_s: int = 300
) -> bool:
    """What a receiver's library does: any `v1` signature in the header that matches, fresh."""
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowered.get(WEBHOOK_ID_HEADER, "")
    signatures = lowered.get(WEBHOOK_SIGNATURE_HEADER, "")
    try:
        timestamp = int(lowered.get(WEBHOOK_TIMESTAMP_HEADER, ""))
    except ValueError:
        return False
    if not webhook_id or abs(now - timestamp) > tolerance_s:
        return False
    expected = sign_standard(secret, webhook_id, timestamp, body).encode()
    # Bytes, not str: compare_digest raises TypeError on a non-ASCII str from a forged header.
    return any(hmac.compare_digest(expected, given.encode()) for given in signatures.split(" "))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The legacy `Switchboard-Signature` value: `t=<timestamp>,v1=<hex>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver of the legacy header does: check the MAC in constant time, fresh."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        expected = sign(secret, timestamp, body).split("v1=", 1)[1]
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    # Bytes, not str: compare_digest raises TypeError on a non-ASCII str from a forged header.
    fresh = abs(now - timestamp) <= tolerance_s
    return fresh and hmac.compare_digest(expected.encode(), given.encode())
