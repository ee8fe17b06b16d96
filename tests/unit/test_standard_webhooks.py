"""Standard Webhooks signatures: what the spec's own example says, and what its library accepts."""

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifier.domain.signature import (
    SIGNATURE_HEADER,
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    sign_standard,
    signature_headers,
    signing_key,
    verify,
    verify_standard,
)

KEY = bytes(range(32))
SPEC_SECRET = "whsec_" + base64.b64encode(KEY).decode()
FREE_FORM_SECRET = "whsec-0123456789abcdef"  # what customers hold from before the standard
WEBHOOK_ID = "NTF-0123456789ABCDEFGHJKMNPQRS"
BODY = b'{"notification_id":"NTF-0123456789ABCDEFGHJKMNPQRS","subject":"We received it"}'


def test_the_signature_of_the_specifications_example() -> None:
    signature = sign_standard(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_whsec_secret_is_the_bytes_its_base64_stands_for() -> None:
    assert signing_key(SPEC_SECRET) == KEY
    assert signing_key(SPEC_SECRET.rstrip("=")) == KEY  # padding may be left off


@pytest.mark.parametrize("secret", [FREE_FORM_SECRET, "whsec_not base64 at all!"])
def test_any_other_secret_is_its_utf8_bytes(secret: str) -> None:
    assert signing_key(secret) == secret.encode()


def test_the_standard_library_verifies_a_delivery_signed_with_a_whsec_secret() -> None:
    headers = signature_headers(SPEC_SECRET, WEBHOOK_ID, int(time.time()), BODY, legacy=False)

    assert Webhook(SPEC_SECRET).verify(BODY, headers) == {
        "notification_id": WEBHOOK_ID,
        "subject": "We received it",
    }


def test_the_standard_library_verifies_a_free_form_secret_given_as_bytes() -> None:
    headers = signature_headers(FREE_FORM_SECRET, WEBHOOK_ID, int(time.time()), BODY, legacy=False)

    Webhook(FREE_FORM_SECRET.encode()).verify(BODY, headers, json_parse=False)


def test_the_standard_library_refuses_a_tampered_body() -> None:
    headers = signature_headers(SPEC_SECRET, WEBHOOK_ID, int(time.time()), BODY, legacy=False)

    with pytest.raises(WebhookVerificationError):
        Webhook(SPEC_SECRET).verify(BODY.replace(b"received", b"resolved"), headers)


def test_the_headers_name_the_webhook_by_its_id_and_time() -> None:
    headers = signature_headers(SPEC_SECRET, WEBHOOK_ID, 1_764_063_000, BODY, legacy=False)

    assert headers[WEBHOOK_ID_HEADER] == WEBHOOK_ID
    assert headers[WEBHOOK_TIMESTAMP_HEADER] == "1764063000"
    assert headers[WEBHOOK_SIGNATURE_HEADER].startswith("v1,")
    assert SIGNATURE_HEADER not in headers


def test_the_legacy_header_is_added_when_asked_and_still_verifies() -> None:
    headers = signature_headers(FREE_FORM_SECRET, WEBHOOK_ID, 1_764_063_000, BODY, legacy=True)

    assert verify(FREE_FORM_SECRET, headers[SIGNATURE_HEADER], BODY, now=1_764_063_000)
    assert verify_standard(FREE_FORM_SECRET, headers, BODY, now=1_764_063_000)


SIGNED_AT = 1_764_063_000
GOOD = signature_headers(SPEC_SECRET, WEBHOOK_ID, SIGNED_AT, BODY, legacy=False)


@pytest.mark.parametrize(
    "headers",
    [
        {**GOOD, WEBHOOK_ID_HEADER: "NTF-another"},
        {**GOOD, WEBHOOK_TIMESTAMP_HEADER: str(SIGNED_AT + 1)},
        {**GOOD, WEBHOOK_TIMESTAMP_HEADER: "yesterday"},
        {**GOOD, WEBHOOK_SIGNATURE_HEADER: "v1,\u00e9\u00e9"},
        {k: v for k, v in GOOD.items() if k != WEBHOOK_ID_HEADER},
        {k: v for k, v in GOOD.items() if k != WEBHOOK_SIGNATURE_HEADER},
    ],
    ids=["other-id", "other-time", "time-not-a-number", "non-ascii", "no-id", "no-signature"],
)
def test_a_forged_or_incomplete_delivery_is_refused(headers: dict[str, str]) -> None:
    assert verify_standard(SPEC_SECRET, headers, BODY, now=SIGNED_AT) is False


@pytest.mark.parametrize(
    ("skew", "accepted"), [(-300, True), (300, True), (-301, False), (301, False)]
)
def test_a_delivery_is_fresh_for_five_minutes_either_way(skew: int, accepted: bool) -> None:
    assert verify_standard(SPEC_SECRET, GOOD, BODY, now=SIGNED_AT + skew) is accepted


def test_one_matching_signature_among_several_is_enough() -> None:
    rotated = {
        **GOOD,
        WEBHOOK_SIGNATURE_HEADER: "v1,b2xkLWtleQ== " + GOOD[WEBHOOK_SIGNATURE_HEADER],
    }

    assert verify_standard(SPEC_SECRET, rotated, BODY, now=SIGNED_AT)
