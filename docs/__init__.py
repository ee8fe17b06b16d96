"""Switchboard's API documents and the generator that writes them from the code."""
