"""The notifier service: tells customers about their tickets, on the channels they accept."""
