"""The workflow service: single writer of ticket documents and their lifecycle."""
