"""Real Kafka and FerretDB for local development, tests and CI, run without Docker."""
