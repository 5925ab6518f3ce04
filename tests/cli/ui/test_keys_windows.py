"""Pause keys on Windows: the msvcrt console reader, driven by a scripted key source.

No Windows console exists here; the fake stands in for ``msvcrt`` (``kbhit``
and ``getwch``), and the real reader thread runs against it.
"""

from __future__ import annotations

import io
import threading
from collections import deque

from caprec.capture.record.segment import StopControl
from caprec.ui.keys import pause_keys
from support.polling import wait_until

DEADLINE_S = 10.0


class Console(io.StringIO):
    """A stdin that says it is a terminal (the Windows reader never reads it)."""

    def isatty(self) -> bool:
        return True


class ScriptedKeys:
    """msvcrt's kbhit/getwch over a queue of characters the test types."""

    def __init__(self) -> None:
        self._keys: deque[str] = deque()
        self._lock = threading.Lock()

    def type(self, text: str) -> None:
        with self._lock:
            self._keys.extend(text)

    def kbhit(self) -> bool:
        with self._lock:
            return bool(self._keys)

    def getwch(self) -> str:
        with self._lock:
            return self._keys.popleft()

    @property
    def unread(self) -> int:
        with self._lock:
            return len(self._keys)


def toggles(stop: StopControl) -> int:
    count = 0
    while stop.take_toggle():
        count += 1
    return count


def test_space_and_p_toggle_pause_on_windows() -> None:
    stop = StopControl()
    keys = ScriptedKeys()
    with pause_keys(stop, stdin=Console(), platform="win32", console_keys=keys) as live:
        assert live is True
        keys.type(" ")
        assert wait_until(lambda: stop.pause_pending, timeout=DEADLINE_S)
        keys.type("xqP")  # q is FFmpeg's, not caprec's: only P counts
        assert wait_until(lambda: keys.unread == 0, timeout=DEADLINE_S)
    assert toggles(stop) == 2
    assert not stop.requested


def test_arrow_and_function_keys_are_not_letters() -> None:
    stop = StopControl()
    keys = ScriptedKeys()
    with pause_keys(stop, stdin=Console(), platform="win32", console_keys=keys):
        keys.type("\xe0P\x00p")  # down arrow ("\xe0", "P"), then F-key code "p"
        assert wait_until(lambda: keys.unread == 0, timeout=DEADLINE_S)
    assert toggles(stop) == 0


def test_no_keys_without_a_console_or_when_disabled() -> None:
    stop = StopControl()
    keys = ScriptedKeys()
    with pause_keys(stop, stdin=io.StringIO(), platform="win32", console_keys=keys) as live:
        assert live is False
    with pause_keys(stop, stdin=Console(), platform="win32", console_keys=keys, enabled=False) as live:
        assert live is False


def test_the_reader_thread_is_joined_on_exit() -> None:
    with pause_keys(StopControl(), stdin=Console(), platform="win32", console_keys=ScriptedKeys()):
        assert any(thread.name == "caprec-keys" for thread in threading.enumerate())
    assert not any(thread.name == "caprec-keys" for thread in threading.enumerate())
