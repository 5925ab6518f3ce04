"""Advisory locks that say "a live caprec owns this file".

A recording holds an exclusive ``flock`` on each file it made (and on a
studio bundle's directory) for its whole life, paused or not; ``caprec
recover`` takes the same lock first and refuses while another process holds
it. The kernel drops a lock when its holder dies, so a crash never leaves a
stale lock: whatever a killed caprec left can be recovered at once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` without waiting; True if taken (always where flock does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows has no flock; recover falls back to other checks
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _open_for_lock(path: Path) -> int:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    return os.open(path, flags)


@contextlib.contextmanager
def hold_lock(path: Path) -> Iterator[bool]:
    """Lock ``path`` (a file or directory, never through a link) until the block ends.

    Yields True if this process got the lock, False if a live process holds
    it. Raises ``OSError`` if ``path`` cannot be opened.
    """
    fd = _open_for_lock(path)
    try:
        yield try_lock(fd)
    finally:
        os.close(fd)


def locked_by_other(paths: list[Path]) -> Path | None:
    """The first of ``paths`` whose lock a live process holds, or None (missing paths are skipped)."""
    for path in paths:
        try:
            with hold_lock(path) as mine:
                if not mine:
                    return path
        except OSError:
            continue
    return None
