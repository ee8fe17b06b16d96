"""The AsyncAPI document each FastStream service serves about itself (`/asyncapi`)."""

from faststream.asgi import AsyncAPIRoute
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

ASYNCAPI_JSON_PATH = "/asyncapi"
ASYNCAPI_HTML_PATH = "/asyncapi.html"


def service_asyncapi(broker: KafkaBroker, service: str) -> AsyncAPI:
    """The topics this service publishes and consumes; docs/asyncapi.json merges all three."""
    return AsyncAPI(broker, title=f"Switchboard {service}")


def asyncapi_route() -> AsyncAPIRoute:
    # The JSON at /asyncapi is what tools read; the HTML page loads its viewer from a CDN.
    # No try-it-out route: publishing to production topics from a browser is not offered.
    return AsyncAPIRoute(
        ASYNCAPI_HTML_PATH, asyncapi_json_path=ASYNCAPI_JSON_PATH, try_it_out_path=None
    )
