"""One message out of several: an email held back while more news about its ticket arrived."""

from typing import Any

SEPARATOR = "\n\n\u2014\u2014\u2014\n\n"


def digest_message(notification: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of a notification with the ones folded into it, oldest first.

    The subject is the latest news; the body tells every step, each under its own subject,
    all in the contact's language because each part was rendered in it.
    """
    parts = [notification, *notification.get("digest", [])]
    if len(parts) == 1:
        return notification["subject"], notification["body"]
    ordered = sorted(parts, key=lambda part: part["occurred_at"])
    body = SEPARATOR.join(f"{part['subject']}\n\n{part['body']}" for part in ordered)
    return ordered[-1]["subject"], body
