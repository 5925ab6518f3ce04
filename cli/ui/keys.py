"""Keys while recording: space or p pauses and resumes (on a terminal); other actions by key (replay: s saves).

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
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TextIO

from caprec.capture.record.segment import StopControl

PAUSE_KEYS = frozenset(b" pP")
KEY_POLL_S = 0.1
KEY_THREAD_JOIN_S = 1.0
# getwch returns a function or arrow key as two calls: this prefix, then a
# code that may look like a letter (down arrow: "P").
_WINDOWS_KEY_PREFIXES = frozenset("\x00\xe0")


class ConsoleKeys(Protocol):
    """``msvcrt``'s console key functions, as far as the Windows reader calls them."""

    def kbhit(self) -> bool: ...

    def getwch(self) -> str: ...


@contextlib.contextmanager
def pause_keys(stop: StopControl, *, stdin: TextIO | None = None, enabled: bool = True,
               platform: str = sys.platform, console_keys: ConsoleKeys | None = None,
               actions: Mapping[int, Callable[[], None]] | None = None) -> Iterator[bool]:
    """While inside, space or p on ``stdin`` (a terminal) toggles pause; yields whether keys are live.

    ``actions`` (key byte -> call) replaces the pause keys: a replay buffer maps ``s`` to a save.
    On Windows (``platform``) the keys come from ``console_keys`` (default:
    ``msvcrt``).
    """
    keys = actions if actions is not None else dict.fromkeys(PAUSE_KEYS, stop.toggle_pause)
    stream = stdin if stdin is not None else sys.stdin
    if not enabled or stream is None or not stream.isatty():
        yield False
        return
    if platform == "win32":
        with _console_key_reader(keys, console_keys or _msvcrt()) as live:
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
            for action in {keys[byte] for byte in data if byte in keys}:
                action()

    thread = threading.Thread(target=read_keys, name="caprec-keys", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        done.set()
        thread.join(KEY_THREAD_JOIN_S)
        # A hung-up terminal (closed window: SIGHUP) is gone; there is nothing to restore.
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _msvcrt() -> ConsoleKeys:
    import importlib

    module: Any = importlib.import_module("msvcrt")
    return module  # type: ignore[no-any-return]


@contextlib.contextmanager
def _console_key_reader(actions: Mapping[int, Callable[[], None]], keys: ConsoleKeys) -> Iterator[bool]:
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
            elif len(char) == 1 and ord(char) in actions:
                actions[ord(char)]()

    thread = threading.Thread(target=read_keys, name="caprec-keys", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        done.set()
        thread.join(KEY_THREAD_JOIN_S)
