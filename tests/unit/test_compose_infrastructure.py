"""docker-compose.yml's infrastructure: pinned images, MongoDB as a replica set, a topic UI."""

from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).parents[2] / "docker-compose.yml"


def services() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return found


def test_every_image_pulled_is_pinned_to_a_tag() -> None:
    images = {name: s["image"] for name, s in services().items() if "build" not in s}

    for name, image in images.items():
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"


def test_mongodb_runs_as_a_one_node_replica_set_the_services_connect_to() -> None:
    mongo = services()["mongo"]

    assert "--replSet" in mongo["command"]
    replica_set = mongo["command"][mongo["command"].index("--replSet") + 1]
    assert f"rs.initiate({{_id: '{replica_set}'" in " ".join(mongo["healthcheck"]["test"])
    for name in ("intake", "workflow", "notifier"):
        url = services()[name]["environment"]["SWITCHBOARD_MONGO_URL"]
        assert f"replicaSet={replica_set}" in url


def test_a_topic_ui_reads_the_same_kafka_once_it_is_healthy() -> None:
    ui = services()["topics-ui"]

    assert ui["image"].startswith("docker.redpanda.com/redpandadata/console:v")
    assert ui["environment"]["KAFKA_BROKERS"] == "kafka:9092"
    assert ui["depends_on"]["kafka"]["condition"] == "service_healthy"
