"""A bound on the events of posted case histories being scored at once.

Each posted event costs memory while its history is checked, its features built and its
score explained (about 4 kB; a 10,000-event request about 40 MB), and nothing else bounds
how many such requests run together. ``EventBudget.take`` admits a request while the
events in flight stay within the budget, and refuses it at once otherwise: the caller
answers 503 with Retry-After, so a burst slows clients down instead of the server
running out of memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from serving.errors import NotReadyError

RETRY_AFTER: Final = 2  # seconds: a burst's requests end well within it


class OverBudgetError(NotReadyError):
    """The events in flight would exceed the budget; try again shortly."""

    code = "busy"
    retry_after = RETRY_AFTER


class EventBudget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._lock = threading.Lock()

    @contextmanager
    def take(self, events: int) -> Iterator[None]:
        """Hold ``events`` of the budget for the block, or raise OverBudgetError."""
        cost = max(1, events)  # a history without events still costs its feature row
        with self._lock:
            if self.in_flight + cost > self.limit:
                raise OverBudgetError(
                    f"{self.in_flight:,} events are being scored; {cost:,} more would pass "
                    f"the budget of {self.limit:,}"
                )
            self.in_flight += cost
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= cost
