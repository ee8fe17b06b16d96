"""Benchmarks: raw Kafka and MongoDB baselines and load on the running platform, as JSON."""
