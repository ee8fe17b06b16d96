"""The three Switchboard services: intake, workflow and notifier."""
