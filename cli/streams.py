"""Standard streams a caller closed (``>&-``, ``2>&-``) or whose reader went away (``| true``).

A closed descriptor 0, 1 or 2 is a trap: the next file caprec opens would
get that number, and text meant for the terminal would land in the
recording. :func:`guard_standard_streams` puts ``/dev/null`` there first,
and makes a closed stdout fail loudly on write (so ``--json`` can say the
summary went nowhere) while a closed stderr just swallows human text (so it
never lands on stdout ahead of the JSON).
"""

from __future__ import annotations

import errno
import io
import os
import sys


class ClosedStream(io.TextIOBase):
    """A text stream whose writes fail: stdout was closed when caprec started."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, f"{self._name} is closed")

    def isatty(self) -> bool:
        return False


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def guard_standard_streams() -> None:
    """Give closed descriptors 0-2 to ``/dev/null``; replace closed ``sys.stdout``/``sys.stderr``."""
    closed = [fd for fd in (0, 1, 2) if not _is_open(fd)]
    for fd in closed:
        opened = os.open(os.devnull, os.O_RDWR)
        if opened != fd:  # a lower number was free after all
            os.dup2(opened, fd)
            os.close(opened)
    if 1 in closed or sys.stdout is None:
        sys.stdout = ClosedStream("stdout")
    if 2 in closed or sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process


def silence_stdout(fd: int = 1) -> None:
    """After a failed write to stdout (a reader that went away), point ``fd`` at ``/dev/null``.

    Python flushes ``sys.stdout`` again at exit; without this that flush
    fails too and turns the exit code into 120 with a message.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    os.dup2(devnull, fd)
    os.close(devnull)
