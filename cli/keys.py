"""Keys while recording: space or p pauses and resumes (on a terminal).

POSIX: the terminal is put in cbreak mode (keys arrive one by one, Ctrl-C
still sends SIGINT) for the recording only, and restored whatever happens.
Windows: the console's keys are read with ``msvcrt`` (``kbhit``/``getwch``),
which needs no mode change. Either way a thread owned by :func:`pause_keys`
reads the keys; it polls with a short timeout so that it can be stopped and
joined.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
from collections.abc import Iterator
from typing import Any, Protocol, TextIO

from capture.recorder import StopControl

PAUSE_KEYS = frozenset(b" pP")
KEY_POLL_S = 0.1
KEY_THREAD_JOIN_S = 1.0
PAUSE_CHARS = frozenset(" pP")
# getwch returns a function or arrow key as two calls: this prefix, then a
# code that may look like a letter (down arrow: "P").
_WINDOWS_KEY_PREFIXES = frozenset("\x00\xe0")


class ConsoleKeys(Protocol):
    """``msvcrt``'s console key functions, as far as the Windows reader calls them."""

    def kbhit(self) -> bool: ...

    def getwch(self) -> str: ...


@contextlib.contextmanager
def pause_keys(stop: StopControl, *, stdin: TextIO | None = None, enabled: bool = True,
               platform: str = sys.platform, console_keys: ConsoleKeys | None = None) -> Iterator[bool]:
    """While inside, space or p on ``stdin`` (a terminal) toggles pause; yields whether keys are live.

    On Windows (``platform``) the keys come from ``console_keys`` (default:
    ``msvcrt``).
    """
    stream = stdin if stdin is not None else sys.stdin
    if not enabled or stream is None or not stream.isatty():
        yield False
        return
    if platform == "win32":
        with _console_key_reader(stop, console_keys or _msvcrt()) as live:
            yield live
        return
    import termios
    import tty

    fd = stream.fileno()
    try:
        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
    except termios.error:
        yield False
        return
    done = threading.Event()

    def read_keys() -> None:
        while not done.is_set():
            ready, _, _ = select.select([fd], [], [], KEY_POLL_S)
            if not ready:
                continue
            try:
                data = os.read(fd, 32)
            except OSError:
                return
            if not data:
                return
            if any(byte in PAUSE_KEYS for byte in data):
                stop.toggle_pause()

    thread = threading.Thread(target=read_keys, name="caprec-keys", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        done.set()
        thread.join(KEY_THREAD_JOIN_S)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _msvcrt() -> ConsoleKeys:
    import importlib

    module: Any = importlib.import_module("msvcrt")
    return module  # type: ignore[no-any-return]


@contextlib.contextmanager
def _console_key_reader(stop: StopControl, keys: ConsoleKeys) -> Iterator[bool]:
    """Windows: a thread polls the console with ``kbhit`` and reads with ``getwch``."""
    done = threading.Event()

    def read_keys() -> None:
        while not done.is_set():
            if not keys.kbhit():
                done.wait(KEY_POLL_S)
                continue
            char = keys.getwch()
            if char in _WINDOWS_KEY_PREFIXES:
                keys.getwch()  # the special key's code: not a letter
            elif char in PAUSE_CHARS:
                stop.toggle_pause()

    thread = threading.Thread(target=read_keys, name="caprec-keys", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        done.set()
        thread.join(KEY_THREAD_JOIN_S)
