"""Replacing a small file atomically: readers see the old bytes or the new, never a mix."""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from pathlib import Path

# Like open(): 0o666 less the user's umask, which the kernel applies.
NEW_FILE_MODE = 0o666
TEMP_SUFFIX = ".tmp"


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data``: a temporary sibling, then :func:`os.replace`.

    The sibling is in the same directory (same filesystem, so the rename is
    atomic). A symlinked ``path`` is followed, so the link stays. An
    existing file keeps its permissions; a new one gets the user's umask.
    ``durable`` fsyncs the data and the directory, so the new bytes survive
    a power loss; frequent rewrites (live stats) skip it. Raises
    :class:`OSError`; the temporary file never outlives a failure.
    """
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), NEW_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; a no-op where directories cannot be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
