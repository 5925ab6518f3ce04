"""Fake ffmpegs: a scripted stand-in (this file, run as a script) and wrappers around the real ffmpeg.

:func:`wrapped_ffmpeg` writes a shell script that runs a few lines of its own (a scripted fault, a log of
its runs) and then the real ffmpeg: caprec tests that need one odd behaviour use it, the rest of the run is
real.

The scripted stand-in is for the stop/terminate/kill escalation tests.
Run as ``python fake_ffmpeg.py --mode MODE [--log FILE]``. Like ffmpeg it
reads keys from stdin; every event it sees (``q``, ``term``) is appended to
``--log`` as one line, so tests can assert what reached it. Once its signal
handlers are in place it writes ``ready`` to stderr (tests wait for that line
before stopping it, so no signal can arrive before the handlers exist).

Modes:

- ``obey-q``: exits 0 on ``q``; exits 255 on SIGTERM (as ffmpeg does).
- ``ignore-q``: logs ``q`` but keeps running; exits 255 on SIGTERM.
- ``ignore-all``: logs ``q`` and SIGTERM but keeps running: only SIGKILL ends it.
- ``error``: writes an x11grab error line to stderr and exits 1 at once.
- ``stream``: like ``obey-q``, and writes ``--chunk`` bytes to stdout every
  ``--interval`` seconds (a stand-in for fragmented MP4 output).

A closed stdin does not end any mode: ffmpeg keeps recording after EOF too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

FAKE_FFMPEG = Path(__file__).resolve()
"""The scripted stand-in: run it as ``[sys.executable, str(FAKE_FFMPEG), "--mode", MODE]``."""
EXECUTABLE = 0o755

EXIT_ON_SIGNAL = 255
EXIT_ERROR = 1
ERROR_LINES = (
    b"[x11grab @ 0x55] [error] Cannot open display :99, error 1.\n",
    b"[error] :99.0: Input/output error\n",
)
MODES = ("obey-q", "ignore-q", "ignore-all", "error", "stream")


def real_ffmpeg() -> str:
    """The installed ffmpeg's path (the tests need one)."""
    found = shutil.which("ffmpeg")
    assert found is not None, "ffmpeg is not installed (apt-get install ffmpeg)"
    return found


def wrapped_ffmpeg(path: Path, prelude: str = "") -> Path:
    """Write an executable ``path`` that runs the shell lines ``prelude``, then the real ffmpeg with its arguments.

    ``prelude`` may end the script itself (``exit 1``) for the runs it fakes; ``"$@"`` holds ffmpeg's
    arguments and ``$*`` them as one string.
    """
    path.write_text(f'#!/bin/sh\n{prelude.rstrip()}\nexec {real_ffmpeg()} "$@"\n' if prelude
                    else f'#!/bin/sh\nexec {real_ffmpeg()} "$@"\n')
    path.chmod(EXECUTABLE)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--log")
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--interval", type=float, default=0.01)
    args = parser.parse_args()

    def log(event: str) -> None:
        if args.log:
            with open(args.log, "a", encoding="ascii") as handle:
                handle.write(event + "\n")

    if args.mode == "error":
        for line in ERROR_LINES:
            os.write(2, line)
        sys.exit(EXIT_ERROR)

    def on_term(signum: int, frame: FrameType | None) -> None:
        log("term")
        if args.mode != "ignore-all":
            os._exit(EXIT_ON_SIGNAL)

    signal.signal(signal.SIGTERM, on_term)
    if args.mode == "stream":
        payload = b"\0" * args.chunk

        def produce() -> None:
            while True:
                try:
                    os.write(1, payload)
                except BrokenPipeError:
                    os._exit(EXIT_ON_SIGNAL)  # ffmpeg exits on EPIPE too
                time.sleep(args.interval)

        threading.Thread(target=produce, daemon=True).start()
    os.write(2, b"ready\n")
    while True:
        key = os.read(0, 1)
        if not key:
            while True:  # EOF on stdin: keep "recording" until a signal
                signal.pause()
        if key == b"q":
            log("q")
            if args.mode in ("obey-q", "stream"):
                sys.exit(0)


if __name__ == "__main__":
    main()
