"""Keys while recording: space or p pauses and resumes (on a terminal); other actions by key (replay: s saves).

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
from collections.abc import Callable, Iterator, Mapping
from typing import TextIO

from capture.recorder import StopControl

PAUSE_KEYS = frozenset(b" pP")
KEY_POLL_S = 0.1
KEY_THREAD_JOIN_S = 1.0


@contextlib.contextmanager
def pause_keys(stop: StopControl, *, stdin: TextIO | None = None, enabled: bool = True,
               actions: Mapping[int, Callable[[], None]] | None = None) -> Iterator[bool]:
    """While inside, space or p on ``stdin`` (a terminal) toggles pause; yields whether keys are live.

    ``actions`` (key byte -> call) replaces the pause keys: a replay buffer maps ``s`` to a save.
    """
    keys = actions if actions is not None else dict.fromkeys(PAUSE_KEYS, stop.toggle_pause)
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
            for action in {keys[byte] for byte in data if byte in keys}:
                action()

    thread = threading.Thread(target=read_keys, name="caprec-keys", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        done.set()
        thread.join(KEY_THREAD_JOIN_S)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
