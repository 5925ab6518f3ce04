"""Keys while recording: space or p pauses and resumes (on a terminal).

The terminal is put in cbreak mode (keys arrive one by one, Ctrl-C still
sends SIGINT) for the recording only, and restored whatever happens. A
thread owned by :func:`pause_keys` reads the keys; it polls with a short
timeout so that it can be stopped and joined.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from capture.recorder import StopControl

PAUSE_KEYS = frozenset(b" pP")
KEY_POLL_S = 0.1
KEY_THREAD_JOIN_S = 1.0


@contextlib.contextmanager
def pause_keys(stop: StopControl, *, stdin: TextIO | None = None, enabled: bool = True) -> Iterator[bool]:
    """While inside, space or p on ``stdin`` (a terminal) toggles pause; yields whether keys are live."""
    stream = stdin if stdin is not None else sys.stdin
    if not enabled or sys.platform == "win32" or stream is None or not stream.isatty():
        yield False
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
        # A hung-up terminal (closed window: SIGHUP) is gone; there is nothing to restore.
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
