"""The ``--delay`` countdown on stderr before a recording starts.

On a terminal a rich status line counts down in place; otherwise plain lines
are printed (each of the last :data:`PLAIN_EVERY_SECOND_FROM` seconds, else
once a minute), so logs stay short. ``--quiet`` shows nothing. A stop
request (Ctrl-C, SIGTERM) during the countdown cancels the recording before
anything is created.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from caprec.capture.record.segment import StopControl
from rich.console import Console

PLAIN_EVERY_SECOND_FROM = 10
PLAIN_EVERY_S = 60
CANCEL_HINT = "Ctrl-C cancels"


def countdown_text(seconds_left: int) -> str:
    """``recording starts in 3 s (Ctrl-C cancels)``."""
    return f"recording starts in {seconds_left} s ({CANCEL_HINT})"


def _plain_shows(seconds_left: int, first: bool) -> bool:
    return first or seconds_left <= PLAIN_EVERY_SECOND_FROM or seconds_left % PLAIN_EVERY_S == 0


def countdown(seconds: float, *, console: Console, quiet: bool, stop: StopControl,
              clock: Callable[[], float] = time.monotonic) -> bool:
    """Wait ``seconds`` while showing the whole seconds left; False when a stop request cancels it."""
    if seconds <= 0:
        return not stop.requested
    deadline = clock() + seconds
    status = console.status(countdown_text(math.ceil(seconds))) if console.is_terminal and not quiet else None
    shown: int | None = None
    cancelled = False
    if status is not None:
        status.start()
    try:
        while (remaining := deadline - clock()) > 0:
            left = math.ceil(remaining)
            if left != shown:
                if status is not None:
                    status.update(countdown_text(left))
                elif not quiet and _plain_shows(left, first=shown is None):
                    console.print(countdown_text(left), highlight=False, markup=False)
                shown = left
            # Wake at the next whole second, or at once on a stop request.
            if stop.wait(remaining - (left - 1)):
                cancelled = True
                break
    finally:
        if status is not None:
            status.stop()
    if cancelled and not quiet:
        console.print("cancelled before recording started; nothing was created", highlight=False, markup=False)
    return not cancelled
