"""A monotonic clock a test moves by hand, for code that takes its clock as an argument."""

from __future__ import annotations

DEFAULT_START_S = 1000.0


class FakeClock:
    """Returns ``now`` when called; moves only when the test sets ``now`` or calls :meth:`advance`."""

    def __init__(self, now: float = DEFAULT_START_S) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
