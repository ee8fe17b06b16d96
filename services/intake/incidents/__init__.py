"""Incidents: outages declared, updated and resolved, and their reach."""
