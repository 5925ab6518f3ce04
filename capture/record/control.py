"""Stop and pause requests for a running recording, from signal handlers, keys or the caller's own code."""

from __future__ import annotations

import threading


class StopControl:
    """Stop and pause requests, shared between signal handlers and the recorder.

    The first :meth:`request` asks for a clean stop; a second one (the
    second Ctrl-C) asks for a fast one. :meth:`toggle_pause` (SIGUSR1, the
    space key) asks to pause or resume; the session takes each toggle once.
    Signal handlers call these, so they only set flags and an event.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self.requests = 0
        self._toggles = 0
        self._woken = False

    def request(self) -> None:
        self.requests += 1
        self._event.set()

    def toggle_pause(self) -> None:
        with self._lock:
            self._toggles += 1
        self._event.set()

    def wake(self) -> None:
        """Wake the watch loop without counting as a stop request (an engine-side failure)."""
        self._woken = True
        self._event.set()

    @property
    def requested(self) -> bool:
        return self.requests > 0

    @property
    def fast(self) -> bool:
        return self.requests > 1

    @property
    def pause_pending(self) -> bool:
        return self._toggles > 0

    def take_toggle(self) -> bool:
        """Consume one pause/resume toggle; True if there was one."""
        with self._lock:
            if self._toggles == 0:
                return False
            self._toggles -= 1
            if self._toggles == 0 and self.requests == 0 and not self._woken:
                self._event.clear()
            return True

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for a request; True if one is pending."""
        return self._event.wait(timeout)
