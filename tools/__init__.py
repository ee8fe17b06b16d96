"""Operator tools on Switchboard's topics: a live tail and the dead letters (list, show, replay)."""
