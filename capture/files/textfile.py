"""Reading a small text file a user points caprec at (config, batch plan): never a hang, never unbounded.

``CAPREC_CONFIG=/some/fifo`` must not block forever and ``/dev/zero`` must
not be read to the end: only a regular file is read, up to a size limit.
"""

from __future__ import annotations

import errno
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

# A TOML table nested this deep is no config or plan anyone wrote; tomllib
# recurses per level and would hit Python's recursion limit first.
TOO_DEEP = "nests too deeply (tables or arrays inside each other hundreds of levels down)"


def read_regular_file(path: Path, *, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (followed if a link), at most ``limit`` of them.

    Raises ``FileNotFoundError``, ``IsADirectoryError`` or ``OSError``
    (``EINVAL``: not a regular file, such as a FIFO or a device; ``EFBIG``:
    larger than ``limit``), each with a ``strerror`` fit for a message.
    """
    # O_NONBLOCK: opening a FIFO for reading would wait for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, socket or device)", str(path))
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"larger than {limit // 1024} KiB", str(path))
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(fd, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise OSError(errno.EFBIG, f"larger than {limit // 1024} KiB", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def parse_toml(text: str) -> dict[str, Any]:
    """:func:`tomllib.loads`, with absurd nesting a :class:`tomllib.TOMLDecodeError` too (not a RecursionError)."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError(TOO_DEEP) from None
