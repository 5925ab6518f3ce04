"""The pipe pump: FFmpeg's fragmented MP4 flows through a tuned pipe to disk.

FFmpeg writes its output to a pipe that caprec reads, never to the file
directly. If caprec dies, FFmpeg's next write fails with EPIPE and FFmpeg
exits instead of recording on as an orphan; what is on disk is a fragmented
MP4 that plays up to its last fragment. On Linux the pipe's kernel buffer is
raised with ``F_SETPIPE_SZ`` so FFmpeg never waits on a slow write; a read
chunk of the same size drains the whole pipe in one call, so the largest
read is the pipe's high-water fill.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

DEFAULT_PIPE_BUFFER = 1024 * 1024
# Linux fcntl commands; the fcntl module names them only on some builds.
F_SETPIPE_SZ = 1031
F_GETPIPE_SZ = 1032
PIPE_MAX_SIZE_FILE = "/proc/sys/fs/pipe-max-size"


def tune_pipe(fd: int, size: int) -> int | None:
    """Raise the kernel buffer of pipe ``fd`` to ``size`` bytes (Linux only).

    Returns the size the kernel granted (it rounds up to a power of two pages
    and caps unprivileged users at /proc/sys/fs/pipe-max-size), or None where
    pipes cannot be tuned.
    """
    if not sys.platform.startswith("linux"):
        return None
    import fcntl

    try:
        return fcntl.fcntl(fd, F_SETPIPE_SZ, size)
    except OSError:
        # Above pipe-max-size without CAP_SYS_RESOURCE: take the largest allowed.
        try:
            with open(PIPE_MAX_SIZE_FILE, encoding="ascii") as handle:
                cap = int(handle.read())
            return fcntl.fcntl(fd, F_SETPIPE_SZ, min(size, cap))
        except (OSError, ValueError):
            try:
                return fcntl.fcntl(fd, F_GETPIPE_SZ)
            except OSError:
                return None


@dataclass(frozen=True)
class PumpStats:
    """What the pump has moved so far."""

    bytes: int
    reads: int
    high_water: int
    chunk_size: int
    pipe_size: int | None
    error: OSError | None


class PumpSink(Protocol):
    """What the pump writes to: a file or descriptor (:class:`Sink`), or a replay ring.

    ``created`` says whether anything was created or taken yet.
    """

    created: bool

    def write(self, data: memoryview) -> None: ...
    def close(self) -> None: ...


class Sink:
    """Where the pump writes: a file created on the first byte, or an open fd.

    Creating the file lazily means a recording that fails before its first
    frame (no display, device error) leaves no empty file behind.
    """

    def __init__(self, *, path: str | None = None, fd: int | None = None, overwrite: bool = False) -> None:
        if (path is None) == (fd is None):
            raise ValueError("give exactly one of path and fd")
        self.path = path
        self._fd = fd
        self._owns_fd = fd is None
        self._overwrite = overwrite
        self.created = False
        # The file's (st_dev, st_ino), and where the open descriptor pointed at close
        # (Linux): how the recorder tells that the output was renamed or deleted.
        self.identity: tuple[int, int] | None = None
        self.last_location: str | None = None

    def _open(self) -> int:
        assert self.path is not None
        if self._overwrite:
            # --overwrite replaces the directory entry: a symlink there is
            # removed, never written through (its target stays untouched).
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(self.path, flags, 0o666)  # the user's umask applies
        info = os.fstat(fd)
        self.identity = (info.st_dev, info.st_ino)
        self.created = True
        return fd

    def write(self, data: memoryview) -> None:
        """Write all of ``data``; raises ``OSError`` (ENOSPC, EPIPE, ...)."""
        if self._fd is None:
            self._fd = self._open()
        fd = self._fd
        while data:
            written = os.write(fd, data)
            data = data[written:]

    def close(self) -> None:
        if self._fd is not None and self._owns_fd:
            with contextlib.suppress(OSError):
                self.last_location = os.readlink(f"/proc/self/fd/{self._fd}")
            os.close(self._fd)
        self._fd = None


class PipePump:
    """Copies everything from ``source_fd`` to ``sink`` on a thread it owns.

    Use as a context manager: the thread starts on enter, and exit joins it
    (the pump ends by itself when FFmpeg closes its end of the pipe). On a
    write error the pump records it, calls ``on_error`` once, and from then on
    drains the pipe and discards what it reads, so FFmpeg never blocks on a
    full pipe while the recorder stops it.
    """

    def __init__(self, source_fd: int, sink: PumpSink, *, chunk_size: int = DEFAULT_PIPE_BUFFER,
                 pipe_size: int | None = None, on_error: Callable[[OSError], None] | None = None,
                 on_first_bytes: Callable[[], None] | None = None) -> None:
        self._source_fd = source_fd
        self._sink = sink
        self._chunk_size = chunk_size
        self._pipe_size = pipe_size
        self._on_error = on_error
        self._on_first_bytes = on_first_bytes
        # Counters are written by the pump thread only; readers see whole ints.
        self._bytes = 0
        self._reads = 0
        self._high_water = 0
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="caprec-pump", daemon=True)

    def _run(self) -> None:
        buffer = bytearray(self._chunk_size)
        view = memoryview(buffer)
        # One read(2) into the same buffer each time, on every platform (os.readv does not exist on Windows).
        # The descriptor is blocking, so readinto never answers None (no data yet); it stays caprec's to close.
        try:
            source = io.FileIO(self._source_fd, "rb", closefd=False)
            while (count := source.readinto(buffer) or 0) > 0:
                if self._error is not None:
                    # Drain and discard after a write error, so FFmpeg never
                    # blocks on a full pipe while the recorder stops it.
                    continue
                if self._bytes == 0 and self._on_first_bytes is not None:
                    self._on_first_bytes()
                try:
                    self._sink.write(view[:count])
                except OSError as exc:
                    self._error = exc
                    if self._on_error is not None:
                        self._on_error(exc)
                    continue
                self._reads += 1
                self._bytes += count
                if count > self._high_water:
                    self._high_water = count
        except OSError as exc:  # reading the pipe itself failed
            self._error = self._error or exc
        finally:
            try:
                self._sink.close()
            except OSError as exc:  # close can report a delayed write error
                self._error = self._error or exc
            view.release()

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the pump to reach end of stream; True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def writes_pipe(self) -> bool:
        """True when the sink is a descriptor caprec was handed (stdout, maybe a pipe), not a file or a ring."""
        return isinstance(self._sink, Sink) and self._sink.path is None

    def stats(self) -> PumpStats:
        return PumpStats(bytes=self._bytes, reads=self._reads, high_water=self._high_water,
                         chunk_size=self._chunk_size, pipe_size=self._pipe_size, error=self._error)

    def __enter__(self) -> PipePump:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.join()


def is_disk_full(exc: BaseException) -> bool:
    """True for the errors a full disk or quota produces."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
