"""Polling until a deadline, instead of fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

POLL_INTERVAL_S = 0.01

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, *, message: str = "",
               interval: float = POLL_INTERVAL_S) -> T:
    """Poll ``predicate`` until it returns something truthy; return that value.

    Raises ``AssertionError`` (with ``message``) when ``timeout`` seconds pass
    first. The predicate is always tried once more at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message or predicate!r}")
        time.sleep(interval)
