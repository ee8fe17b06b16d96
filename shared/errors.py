"""Domain error types; each maps to one HTTP status or to the dead-letter path."""


class DomainError(Exception):
    """A request the domain refuses for good: retrying the same message cannot succeed."""


class UnprocessableMessage(DomainError):
    """A message that is well-formed but can never be applied (unknown aggregate, bad reference)."""
