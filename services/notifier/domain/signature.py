"""Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>`, in a `t=…,v1=…` header."""

import hashlib
import hmac

SIGNATURE_HEADER = "Switchboard-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does: check the MAC in constant time and refuse stale timestamps."""
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
