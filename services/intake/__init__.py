"""The intake service: the HTTP edge that turns requests into Kafka commands."""
