"""Tickets: opening and reading them, and what agents and customers do to them."""
