"""Ticket notifications: stored per recipient and channel, delivered, and their delivery events."""
