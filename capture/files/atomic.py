"""Replacing a small file atomically: readers see the old bytes or the new, never a mix."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from caprec.capture.files.tempfiles import owned_temp


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace the directory entry ``path`` with ``data``: a temporary sibling, then :func:`os.replace`.

    The sibling is created by :func:`caprec.capture.files.tempfiles.owned_temp` in the
    same directory (same filesystem, so the rename is atomic; ``O_EXCL``, an
    unguessable name). A symlink at ``path`` is replaced, never followed:
    a link planted in a shared directory cannot redirect the write. An
    existing regular file keeps its permissions; a new one gets the user's
    umask. ``durable`` fsyncs the data and the directory, so the new bytes
    survive a power loss; frequent rewrites (live stats) skip it. Raises
    :class:`OSError`; the temporary file never outlives a failure.
    """
    with owned_temp(path, "tmp") as temp:
        view = memoryview(data)
        while view:
            view = view[os.write(temp.fd, view):]
        temp.commit(path, durable=durable)
    if durable:
        _fsync_directory(path.absolute().parent)


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
