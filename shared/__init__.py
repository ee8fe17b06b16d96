"""Code the Switchboard services share: the Kafka contract, settings and store factories."""
