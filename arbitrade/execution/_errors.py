"""Errors of the execution layer.

Exception tree::

    Exception
    └── ExecutionError                 base of everything below
        ├── VenueError                 a venue could not do what was asked
        │   ├── VenueUnavailable       not connected (yet, or any more): retry after reconnect
        │   └── VenueRefusedToStart    configuration forbids this venue (live safety rules)
        └── (ValueError) InvalidOrder  an order request that no venue could accept
"""

from __future__ import annotations


class ExecutionError(Exception):
    """Base class of execution errors."""


class VenueError(ExecutionError):
    """A venue could not carry out a request."""

    def __init__(self, venue: str, problem: str) -> None:
        self.venue = venue
        self.problem = problem
        super().__init__(f"{venue}: {problem}")


class VenueUnavailable(VenueError):
    """The venue is not connected; the request was not sent. Query after reconnecting."""


class VenueRefusedToStart(VenueError):
    """The venue refuses to run with this configuration (e.g. live mode rules)."""


class InvalidOrder(ExecutionError, ValueError):
    """An order request breaks a rule every venue shares (non-positive size or price)."""
