"""The pure core of the workflow: no I/O, the clock passed in."""
