"""Real Kafka and a MongoDB-wire document store for development, tests and CI, without Docker."""
