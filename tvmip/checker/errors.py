"""The checker's two outcomes besides VALID: unreadable input, and a claim that fails."""

from __future__ import annotations


class FormatError(ValueError):
    """Malformed input: ``where`` is a place such as ``line 3.y[0]`` or ``layers[1].weights``."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


class Rejected(Exception):
    """A claim of the certificate does not hold (the verdict is INVALID)."""
