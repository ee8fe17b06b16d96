"""The operator console: a live page of the board, outages, dead letters and consumer lag."""
