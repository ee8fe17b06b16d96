"""An outage's scope finds the customers it hits: by name, or by the services they use."""

import pytest
from pydantic import ValidationError

from shared.customers import Services
from shared.incidents import IncidentScope

MADRID_SIP = Services(
    regions=("eu-south",), carrier_routes=("telefonica-sip",), number_ranges=("+3491",)
)


@pytest.mark.parametrize(
    ("scope", "hit"),
    [
        (IncidentScope(customer_ids=("acme",)), True),
        (IncidentScope(customer_ids=("globex",)), False),
        (IncidentScope(regions=("eu-south",)), True),
        (IncidentScope(regions=("us-east",)), False),
        (IncidentScope(carrier_routes=("telefonica-sip",)), True),
        (IncidentScope(number_ranges=("+34",)), True),  # the outage covers the customer's range
        (IncidentScope(number_ranges=("+349112",)), True),  # part of the customer's range
        (IncidentScope(number_ranges=("+3493",)), False),
        (IncidentScope(products=("sms",)), False),
        (IncidentScope(regions=("us-east",), products=("sms",), customer_ids=("acme",)), True),
    ],
)
def test_a_scope_hits_the_customers_it_names_or_whose_services_it_shares(
    scope: IncidentScope, hit: bool
) -> None:
    assert scope.matches("acme", MADRID_SIP) is hit


def test_a_scope_must_name_someone() -> None:
    with pytest.raises(ValidationError, match="names customers or at least one service"):
        IncidentScope()


def test_a_customer_with_no_services_is_hit_only_by_name() -> None:
    assert not IncidentScope(regions=("eu-south",)).matches("acme", Services())
