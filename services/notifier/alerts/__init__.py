"""Operator alerts: facts from the topics posted to a chat webhook, coalesced and retried."""
