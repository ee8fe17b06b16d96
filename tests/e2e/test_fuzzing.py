"""Intake fuzzed against its own OpenAPI document (schemathesis), as an agent, on the real Kafka
and document store: whatever is sent, no answer is a 5xx and every answer is one the document
describes (status, content type, headers and body schema); input the schema refuses is refused.

Intake runs in this process under uvicorn, so only Kafka and the store need starting.
"""

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from infra.processes import LOOPBACK, free_port
from services.intake.app import create_app
from services.intake.auth import API_KEY_HEADER
from services.intake.settings import IntakeSettings
from tests.e2e.support import Endpoints, Keys

pytestmark = pytest.mark.e2e

Operation = APIOperation[Any, Any, Any, Any]

EXAMPLES_PER_OPERATION = 15
# Rules no JSON Schema can state, so a schema-valid body may still be refused (422) here.
# Each is in the operation's description: contact ids are unique within a customer.
RULES_BEYOND_THE_SCHEMA = {("PUT", "/v1/customers/{customer_id}")}


@pytest.fixture(scope="module")
def live_intake(endpoints: Endpoints, database_name: str) -> Iterator[str]:
    port = free_port()
    app = create_app(
        IntakeSettings(
            kafka_bootstrap=endpoints.kafka_bootstrap,
            mongo_url=endpoints.mongo_url,
            mongo_database=database_name,
            intake_port=port,
        )
    )
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="intake-under-fuzzing", daemon=True)
    thread.start()
    url = f"http://{LOOPBACK}:{port}"
    try:
        _until_ready(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _until_ready(url: str, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"intake at {url} was not ready within {within_s:.0f}s")


@pytest.fixture(scope="module")
def operations(live_intake: str) -> list[Operation]:
    # The notification stream never ends by itself: it is tested on its own elsewhere.
    loaded = schemathesis.openapi.from_url(f"{live_intake}/openapi.json")
    results = list(loaded.exclude(path_regex=r"/stream$").get_all_operations())
    found = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(found) == len(results), "the OpenAPI document has an operation schemathesis refuses"
    assert len(found) > 20, "the OpenAPI document lost its operations"
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_one_the_openapi_describes(
    operations: list[Operation], keys: Keys, mode: GenerationMode
) -> None:
    failures: dict[str, str] = {}
    for operation in operations:
        try:
            _fuzz(operation, mode, keys.agent)
        except Exception as failure:  # each operation's failure is reported
            failures[operation.label] = str(failure)[:2_000]
    assert not failures, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())


def _fuzz(operation: Operation, mode: GenerationMode, agent_key: str) -> None:
    if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
        return  # nothing to make invalid
    excluded = [check for check, applies in _exceptions(operation, mode).items() if applies]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def answered_within_the_contract(case: Case[Operation]) -> None:
        case.call_and_validate(headers={API_KEY_HEADER: agent_key}, excluded_checks=excluded)

    answered_within_the_contract()


def _has_body(operation: Operation) -> bool:
    return operation.body is not None and bool(list(operation.body))


def _has_inputs(operation: Operation) -> bool:
    return bool(list(operation.iter_parameters())) or _has_body(operation)


def _exceptions(operation: Operation, mode: GenerationMode) -> dict[CheckFunction, bool]:
    """The checks that cannot judge this operation fairly, and why."""
    beyond = (operation.method.upper(), operation.path) in RULES_BEYOND_THE_SCHEMA
    return {
        positive_data_acceptance: beyond,
        # A query "array" of one item made to replace a string is the very same string on the
        # wire (`?region=true`): refusing it would refuse valid input. The query's own rules
        # (types, unknown and repeated parameters) are tested in tests/service.
        negative_data_rejection: mode is GenerationMode.NEGATIVE and not _has_body(operation),
    }
