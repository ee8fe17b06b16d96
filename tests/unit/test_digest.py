"""A held email that took later news along tells every step, the latest as its subject."""

from services.notifier.domain.digest import SEPARATOR, digest_message


def part(subject: str, body: str, at: str) -> dict[str, str]:
    return {"subject": subject, "body": body, "occurred_at": at}


def test_an_email_alone_is_sent_as_it_is() -> None:
    assert digest_message(part("Opened", "We got it", "2026-01-01T09:00:00+00:00")) == (
        "Opened",
        "We got it",
    )


def test_folded_news_is_told_oldest_first_under_the_latest_subject() -> None:
    held = {
        **part("Opened", "We got it", "2026-01-01T09:00:00+00:00"),
        "digest": [
            part("Fixed", "Deployed a fix", "2026-01-01T09:00:20+00:00"),
            part("Investigating", "On it", "2026-01-01T09:00:10+00:00"),
        ],
    }

    subject, body = digest_message(held)

    assert subject == "Fixed"
    assert body.split(SEPARATOR) == [
        "Opened\n\nWe got it",
        "Investigating\n\nOn it",
        "Fixed\n\nDeployed a fix",
    ]
