"""Delivery channels, one adapter per module."""
