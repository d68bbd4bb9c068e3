"""What the store raises: every backend raises these, so the engine handles one set."""

from __future__ import annotations


class StoreError(Exception):
    """A request the store cannot satisfy (unknown list, unknown campaign...)."""


class StoreBusy(StoreError):
    """The store could not take its lock in time (another process writing): a hiccup to
    wait out and retry, not a failure of the request itself."""


class NumberInCall(StoreError):
    """start_attempt refused: the contact's number is in a call of some campaign now."""
