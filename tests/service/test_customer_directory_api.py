"""The customer directory over HTTP: entries, contact preferences, and who an outage hits.

The directory's collection is a small in-memory stand-in that holds the documents intake
writes and answers the very queries it sends to MongoDB.
"""

import copy
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.intake.app import create_app
from services.intake.auth import API_KEY_HEADER, ApiKeys, Caller
from services.intake.customers.directory import Customers
from services.intake.customers.schemas import CustomerRequest
from services.intake.settings import IntakeSettings
from shared.customers import Customer
from shared.mongo import Document
from shared.settings import Environment
from shared.vocabulary import Role

SETTINGS = IntakeSettings(
    environment=Environment.TEST,
    kafka_bootstrap="127.0.0.1:1",
    mongo_url="mongodb://127.0.0.1:1/",
)
AGENT, CRM, ACME, GLOBEX = "key-agent", "key-crm", "key-acme", "key-globex"
CALLERS = {
    AGENT: Caller(name="agent-desk", role=Role.AGENT),
    CRM: Caller(name="crm", role=Role.SYSTEM),
    ACME: Caller(name="acme-portal", role=Role.CUSTOMER, customer_id="acme-telecom"),
    GLOBEX: Caller(name="globex-portal", role=Role.CUSTOMER, customer_id="globex"),
}
SECRET = "acme-webhook-signing-secret-4711"
NOC: dict[str, Any] = {
    "contact_id": "noc",
    "name": "Network operations",
    "language": "es",
    "email": "noc@acme.example",
    "phone": "+34910000001",
    "webhook": {"url": "https://acme.example/hooks/switchboard", "secret": SECRET},
    "opt_out": ["progress"],
}
BILLING: dict[str, Any] = {"contact_id": "billing", "name": "Billing desk", "in_app": False}
ACME_ENTRY: dict[str, Any] = {
    "name": "ACME Telecom",
    "contacts": [NOC, BILLING],
    "services": {
        "regions": ["eu-south"],
        "carrier_routes": ["telefonica-es"],
        "number_ranges": ["+3491"],
        "products": ["sip-trunk"],
    },
}


# --- fakes --------------------------------------------------------------------------------


class FakeApiKeys(ApiKeys):
    def __init__(self) -> None:
        pass

    async def caller_for(self, key: str) -> Caller | None:
        return CALLERS.get(key)


def _matches(document: Document, query: Document) -> bool:
    """The operators the directory's queries use: `$or`, equality, `$in` and `^prefix`."""
    return all(
        any(_matches(document, clause) for clause in value)
        if path == "$or"
        else _holds(document, path, value)
        for path, value in query.items()
    )


def _holds(document: Document, path: str, wanted: Any) -> bool:
    """MongoDB on a dotted path: an array matches if one of its elements does."""
    node: Any = document
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    values = node if isinstance(node, list) else [node]
    if isinstance(wanted, dict):
        assert set(wanted) <= {"$in", "$regex"}, f"an unexpected operator: {path}={wanted}"
        if "$in" in wanted:
            return any(value in wanted["$in"] for value in values)
        return any(isinstance(v, str) and re.match(wanted["$regex"], v) for v in values)
    return wanted in values


class FakeCustomers(Customers):
    """Customer documents in a dict; a rival may change them just before a contact is written."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.rivals: list[Callable[[dict[str, Document]], None]] = []

    async def document(self, customer_id: str) -> Document | None:
        return copy.deepcopy(self.documents.get(customer_id))

    async def replace_document(self, document: Document) -> None:
        self.documents[document["_id"]] = copy.deepcopy(document)

    async def documents_matching(self, query: Document, limit: int) -> list[Document]:
        found = [
            document for _, document in sorted(self.documents.items()) if _matches(document, query)
        ]
        return copy.deepcopy(found[:limit])

    async def set_contact_fields(
        self, customer_id: str, index: int, contact_id: str, fields: dict[str, Any]
    ) -> bool:
        if self.rivals:
            self.rivals.pop(0)(self.documents)
        contacts = self.documents.get(customer_id, {}).get("contacts", [])
        if index >= len(contacts) or contacts[index]["contact_id"] != contact_id:
            return False
        contacts[index].update(copy.deepcopy(fields))
        return True


@dataclass
class Directory:
    app: FastAPI
    http: httpx.AsyncClient
    customers: FakeCustomers

    async def put(
        self, customer_id: str = "acme-telecom", body: Any = None, key: str = AGENT
    ) -> httpx.Response:
        return await self.http.put(
            f"/v1/customers/{customer_id}",
            json=ACME_ENTRY if body is None else body,
            headers={API_KEY_HEADER: key},
        )

    async def get(self, path: str, key: str = AGENT, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers={API_KEY_HEADER: key})

    async def change_preferences(
        self, body: Any, key: str = AGENT, customer_id: str = "acme-telecom", contact: str = "noc"
    ) -> httpx.Response:
        return await self.http.patch(
            f"/v1/customers/{customer_id}/contacts/{contact}/preferences",
            json=body,
            headers={API_KEY_HEADER: key},
        )

    def stored_contact(self, contact_id: str, customer_id: str = "acme-telecom") -> Document:
        contacts: list[Document] = self.customers.documents[customer_id]["contacts"]
        [contact] = [c for c in contacts if c["contact_id"] == contact_id]
        return contact


@pytest.fixture
async def directory() -> AsyncIterator[Directory]:
    app = create_app(SETTINGS)
    customers = FakeCustomers()
    app.state.customers, app.state.api_keys = customers, FakeApiKeys()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        yield Directory(app, http, customers)


@pytest.fixture
async def acme(directory: Directory) -> Directory:
    assert (await directory.put()).status_code == 200
    return directory


def problem_fields(response: httpx.Response) -> list[tuple[str | int, ...]]:
    return [tuple(error["loc"]) for error in response.json()["errors"]]


def with_contact(**changes: Any) -> dict[str, Any]:
    return {**ACME_ENTRY, "contacts": [{**NOC, **changes}]}


# --- putting an entry ---------------------------------------------------------------------


async def test_an_agent_puts_a_customer_and_sees_it_without_its_secret(
    directory: Directory,
) -> None:
    response = await directory.put()

    assert response.status_code == 200
    assert SECRET not in response.text
    view = response.json()
    assert view["customer_id"] == "acme-telecom"
    assert view["services"] == ACME_ENTRY["services"]
    noc, billing = view["contacts"]
    assert noc == {
        "contact_id": "noc",
        "name": "Network operations",
        "channels": ["in_app", "email", "sms", "webhook"],
        "language": "es",
        "email": "noc@acme.example",
        "phone": "+34910000001",
        "webhook": {"url": "https://acme.example/hooks/switchboard", "secret_set": True},
        "in_app": True,
        "opt_out": ["progress"],
    }
    assert billing["channels"] == []
    assert billing["language"] == "en"


async def test_the_stored_document_is_the_entry_under_the_customer_id(
    directory: Directory,
) -> None:
    await directory.put()

    document = directory.customers.documents["acme-telecom"]
    assert list(document) == ["_id", "name", "contacts", "services"]
    assert document["contacts"][0]["webhook"]["secret"] == SECRET  # the notifier signs with it
    stored = {key: value for key, value in document.items() if key != "_id"}
    expected = Customer.model_validate({**ACME_ENTRY, "customer_id": "acme-telecom"})
    assert Customer.model_validate({**stored, "customer_id": document["_id"]}) == expected


async def test_a_put_replaces_the_whole_entry(acme: Directory) -> None:
    smaller = {"name": "ACME Telecom S.A.", "contacts": [{"contact_id": "ops", "name": "Ops"}]}

    response = await acme.put(body=smaller)

    assert response.status_code == 200
    assert acme.customers.documents["acme-telecom"] == {
        "_id": "acme-telecom",
        "name": "ACME Telecom S.A.",
        "contacts": [
            {
                "contact_id": "ops",
                "name": "Ops",
                "language": "en",
                "email": None,
                "phone": None,
                "webhook": None,
                "in_app": True,
                "opt_out": [],
            }
        ],
        "services": {"regions": [], "carrier_routes": [], "number_ranges": [], "products": []},
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_contact(email="noc-at-acme.example"), ("body", "contacts", 0, "email")),
        (with_contact(phone="0034910000001"), ("body", "contacts", 0, "phone")),
        (
            with_contact(webhook={"url": "https://acme.example/h", "secret": "short"}),
            ("body", "contacts", 0, "webhook", "secret"),
        ),
        (
            with_contact(webhook={"url": "ftp://acme.example/h", "secret": SECRET}),
            ("body", "contacts", 0, "webhook", "url"),
        ),
        ({**ACME_ENTRY, "contacts": [NOC, {**BILLING, "contact_id": "noc"}]}, ("body", "contacts")),
        ({**ACME_ENTRY, "contacts": []}, ("body", "contacts")),
        ({"name": "ACME Telecom"}, ("body", "contacts")),
        (with_contact(language="de"), ("body", "contacts", 0, "language")),
        (with_contact(opt_out=["outage"]), ("body", "contacts", 0, "opt_out")),
        (with_contact(opt_out=["newsletter"]), ("body", "contacts", 0, "opt_out", 0)),
        (with_contact(contact_id="NOC Desk"), ("body", "contacts", 0, "contact_id")),
        ({**ACME_ENTRY, "services": {"regions": ["$ne"]}}, ("body", "services", "regions", 0)),
        (
            {**ACME_ENTRY, "services": {"number_ranges": ["3491"]}},
            ("body", "services", "number_ranges", 0),
        ),
        ({**ACME_ENTRY, "customer_id": "globex"}, ("body", "customer_id")),
    ],
    ids=[
        "bad-email",
        "phone-not-e164",
        "webhook-secret-too-short",
        "webhook-not-http",
        "duplicate-contact-id",
        "no-contacts",
        "old-shape-without-contacts",
        "unknown-language",
        "opt-out-of-outages",
        "unknown-message-kind",
        "bad-contact-id",
        "operator-as-region",
        "number-range-without-plus",
        "customer-id-in-the-body",
    ],
)
async def test_a_bad_entry_is_refused_naming_the_field(
    directory: Directory, body: dict[str, Any], field: tuple[str | int, ...]
) -> None:
    response = await directory.put(body=body)

    assert response.status_code == 422
    assert field in problem_fields(response)
    assert directory.customers.documents == {}


async def test_opting_out_of_outages_is_refused_saying_why(directory: Directory) -> None:
    response = await directory.put(body=with_contact(opt_out=["progress", "outage_resolved"]))

    [error] = response.json()["errors"]
    assert "outage messages always go out" in error["msg"]


async def test_a_refused_entry_never_echoes_a_secret(directory: Directory) -> None:
    duplicated = {**ACME_ENTRY, "contacts": [NOC, {**NOC, "name": "Second NOC"}]}

    response = await directory.put(body=duplicated)

    assert response.status_code == 422
    assert SECRET not in response.text


@pytest.mark.parametrize("key", [ACME, CRM], ids=["customer-itself", "system"])
async def test_only_an_agent_puts_a_customer(directory: Directory, key: str) -> None:
    response = await directory.put(key=key)

    assert response.status_code == 403
    assert "agent" in response.json()["detail"]
    assert directory.customers.documents == {}


def test_the_request_body_is_the_shared_customer_without_its_id() -> None:
    shared = Customer.model_json_schema()
    request = CustomerRequest.model_json_schema()

    assert set(request["required"]) == set(shared["required"]) - {"customer_id"}
    assert set(request["properties"]) == set(shared["properties"]) - {"customer_id"}
    contact, requested = shared["$defs"]["Contact"], request["$defs"]["ContactRequest"]
    assert set(requested["properties"]) == set(contact["properties"])
    assert set(requested.get("required", [])) == set(contact.get("required", []))


# --- reading an entry ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "customer_id", "status_code"),
    [
        (AGENT, "acme-telecom", 200),
        (ACME, "acme-telecom", 200),
        (GLOBEX, "acme-telecom", 404),
        (AGENT, "initech", 404),
        (CRM, "acme-telecom", 403),
    ],
    ids=["agent", "customer-itself", "another-customer", "unknown", "system"],
)
async def test_a_customer_reads_its_own_entry_and_no_other(
    acme: Directory, key: str, customer_id: str, status_code: int
) -> None:
    response = await acme.get(f"/v1/customers/{customer_id}", key=key)

    assert response.status_code == status_code
    assert SECRET not in response.text
    if status_code == 200:
        assert [c["contact_id"] for c in response.json()["contacts"]] == ["noc", "billing"]


async def test_an_entry_in_the_old_shape_is_not_found_until_put_again(
    directory: Directory,
) -> None:
    directory.customers.documents["acme-telecom"] = {
        "_id": "acme-telecom",
        "name": "ACME Telecom",
        "webhook": {"url": "https://acme.example/h", "secret": SECRET},
    }

    response = await directory.get("/v1/customers/acme-telecom")

    assert response.status_code == 404


# --- preferences --------------------------------------------------------------------------


@pytest.mark.parametrize("key", [AGENT, ACME], ids=["agent", "customer-itself"])
async def test_a_contact_changes_language_and_opt_outs(acme: Directory, key: str) -> None:
    response = await acme.change_preferences(
        {"language": "fr", "opt_out": ["update", "progress", "update"]}, key=key
    )

    assert response.status_code == 200
    assert response.json()["language"] == "fr"
    assert response.json()["opt_out"] == ["progress", "update"]
    assert SECRET not in response.text
    stored = acme.stored_contact("noc")
    assert (stored["language"], stored["opt_out"]) == ("fr", ["progress", "update"])
    assert stored["webhook"]["secret"] == SECRET
    assert acme.stored_contact("billing") == {
        **BILLING,
        "language": "en",
        "email": None,
        "phone": None,
        "webhook": None,
        "opt_out": [],
    }


async def test_only_what_is_named_changes(acme: Directory) -> None:
    response = await acme.change_preferences({"opt_out": []})

    assert response.status_code == 200
    assert (acme.stored_contact("noc")["language"], acme.stored_contact("noc")["opt_out"]) == (
        "es",
        [],
    )


@pytest.mark.parametrize("kind", ["outage", "outage_resolved"])
async def test_a_contact_cannot_opt_out_of_outages(acme: Directory, kind: str) -> None:
    response = await acme.change_preferences({"opt_out": ["progress", kind]})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert tuple(error["loc"]) == ("body", "opt_out")
    assert "outage messages always go out" in error["msg"]
    assert acme.stored_contact("noc")["opt_out"] == ["progress"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, ("body",)),
        ({"opt_out": ["newsletter"]}, ("body", "opt_out", 0)),
        ({"language": "de"}, ("body", "language")),
        ({"email": "x@y.example"}, ("body", "email")),
    ],
    ids=["nothing-to-change", "unknown-kind", "unknown-language", "not-a-preference"],
)
async def test_a_bad_preference_change_is_refused_naming_the_field(
    acme: Directory, body: dict[str, Any], field: tuple[str, ...]
) -> None:
    response = await acme.change_preferences(body)

    assert response.status_code == 422
    assert problem_fields(response) == [field]


@pytest.mark.parametrize(
    ("key", "customer_id", "contact", "status_code"),
    [
        (GLOBEX, "acme-telecom", "noc", 404),
        (AGENT, "acme-telecom", "sales", 404),
        (AGENT, "initech", "noc", 404),
        (CRM, "acme-telecom", "noc", 403),
    ],
    ids=["another-customer", "unknown-contact", "unknown-customer", "system"],
)
async def test_preferences_change_only_for_a_known_contact_and_a_caller_that_may(
    acme: Directory, key: str, customer_id: str, contact: str, status_code: int
) -> None:
    response = await acme.change_preferences(
        {"language": "fr"}, key=key, customer_id=customer_id, contact=contact
    )

    assert response.status_code == status_code
    assert acme.stored_contact("noc")["language"] == "es"


def _reverse_contacts(documents: dict[str, Document]) -> None:
    documents["acme-telecom"]["contacts"].reverse()


async def test_a_preference_change_finds_the_contact_an_agent_just_moved(acme: Directory) -> None:
    acme.customers.rivals.append(_reverse_contacts)

    response = await acme.change_preferences({"language": "fr"})

    assert response.status_code == 200
    assert acme.stored_contact("noc")["language"] == "fr"
    assert acme.stored_contact("billing")["language"] == "en"


async def test_contacts_that_keep_moving_are_a_conflict_and_nothing_changes(
    acme: Directory,
) -> None:
    acme.customers.rivals.extend([_reverse_contacts] * 3)

    response = await acme.change_preferences({"language": "fr"})

    assert response.status_code == 409
    assert "try again" in response.json()["detail"]
    assert acme.stored_contact("noc")["language"] == "es"


# --- who an outage hits -------------------------------------------------------------------


def entry(name: str, **services: list[str]) -> dict[str, Any]:
    return {"name": name, "contacts": [{"contact_id": "ops", "name": "Ops"}], "services": services}


@pytest.fixture
async def many(acme: Directory) -> Directory:
    others = {
        "globex": entry("Globex", regions=["eu-south", "us-east"], products=["sip-trunk"]),
        "initech": entry("Initech", regions=["us-east"], carrier_routes=["telefonica-es"]),
        "umbrella": entry("Umbrella", number_ranges=["+3491", "+3493"]),
    }
    for customer_id, body in others.items():
        assert (await acme.put(customer_id, body)).status_code == 200
    return acme


@pytest.mark.parametrize(
    ("params", "customer_ids"),
    [
        ({"region": "eu-south"}, ["acme-telecom", "globex"]),
        ({"region": "us-east"}, ["globex", "initech"]),
        ({"carrier_route": "telefonica-es"}, ["acme-telecom", "initech"]),
        ({"number_range": "+3491"}, ["acme-telecom", "umbrella"]),
        ({"number_range": "+349"}, ["acme-telecom", "umbrella"]),
        ({"number_range": "+3"}, ["acme-telecom", "umbrella"]),
        ({"number_range": "+349112"}, ["acme-telecom", "umbrella"]),
        ({"number_range": "+3493"}, ["umbrella"]),
        ({"number_range": "+3492"}, []),
        ({"number_range": "+3493", "region": "eu-south"}, []),
        ({"product": "sip-trunk"}, ["acme-telecom", "globex"]),
        (
            {"region": "eu-south", "product": "sip-trunk", "carrier_route": "telefonica-es"},
            ["acme-telecom"],
        ),
        ({"region": "ap-south"}, []),
        ({}, ["acme-telecom", "globex", "initech", "umbrella"]),
        ({"limit": 2}, ["acme-telecom", "globex"]),
    ],
    ids=[
        "region",
        "another-region",
        "carrier-route",
        "number-range",
        "a-range-holding-theirs",
        "a-country-code",
        "a-range-inside-theirs",
        "another-range",
        "a-range-nobody-overlaps",
        "a-range-and-a-region",
        "product",
        "all-filters-together",
        "nobody",
        "everyone",
        "limited",
    ],
)
async def test_an_agent_finds_the_customers_an_outage_hits(
    many: Directory, params: dict[str, Any], customer_ids: list[str]
) -> None:
    response = await many.get("/v1/customers", **params)

    assert response.status_code == 200
    assert [view["customer_id"] for view in response.json()] == customer_ids
    assert SECRET not in response.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"region": "$ne"}, ("query", "region")),
        ({"carrier_route": "Telefonica ES"}, ("query", "carrier_route")),
        ({"number_range": "3491"}, ("query", "number_range")),
        ({"product": ""}, ("query", "product")),
        ({"limit": 0}, ("query", "limit")),
    ],
    ids=["operator-as-region", "bad-route", "range-without-plus", "empty-product", "zero-limit"],
)
async def test_a_bad_filter_is_refused_naming_it(
    many: Directory, params: dict[str, Any], field: tuple[str, ...]
) -> None:
    response = await many.get("/v1/customers", **params)

    assert response.status_code == 422
    assert problem_fields(response) == [field]


@pytest.mark.parametrize("key", [ACME, CRM], ids=["customer", "system"])
async def test_only_an_agent_lists_customers(many: Directory, key: str) -> None:
    response = await many.get("/v1/customers", key=key, region="eu-south")

    assert response.status_code == 403
