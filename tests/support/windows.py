"""Windows rules applied to real files here (there is no Windows machine): what caprec must cope with there."""

from __future__ import annotations

import errno
import fcntl
import os

_FSYNC = os.fsync  # the real one, should a test put windows_fsync in its place


def windows_fsync(fd: int) -> None:
    """os.fsync with FlushFileBuffers' rule: the handle must allow writing (EBADF on a read-only one)."""
    if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
        raise OSError(errno.EBADF, "Bad file descriptor")
    _FSYNC(fd)
