"""The pipe pump: bytes from a real pipe to a lazily created file, and what happens on errors."""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from caprec.capture.record.pump import F_GETPIPE_SZ, PIPE_MAX_SIZE_FILE, PipePump, Sink, is_disk_full, tune_pipe
from support.polling import wait_until

JOIN_TIMEOUT_S = 10.0
KIB = 1024
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_SETPIPE_SZ is Linux-only")


class Pipe:
    """An os.pipe() that remembers which ends are closed, so teardown never closes a reused fd."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self._open = {self.read_fd, self.write_fd}
        self._lock = threading.Lock()

    def close(self, fd: int) -> None:
        with self._lock:
            if fd in self._open:
                self._open.discard(fd)
                os.close(fd)

    def close_all(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            self.close(fd)


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    made = Pipe()
    yield made
    made.close_all()


def start_writer(pipe: Pipe, data: bytes, chunk: int = 64 * KIB) -> threading.Thread:
    """Write ``data`` into ``pipe`` in chunks on a thread, then close its write end (end of stream)."""

    def run() -> None:
        view = memoryview(data)
        try:
            while view:
                written = os.write(pipe.write_fd, view[:chunk])
                view = view[written:]
        finally:
            pipe.close(pipe.write_fd)

    thread = threading.Thread(target=run, name="test-writer", daemon=True)
    thread.start()
    return thread


def test_pump_copies_every_byte(pipe: Pipe, tmp_path: Path) -> None:
    read_fd = pipe.read_fd
    data = os.urandom(3 * 1024 * KIB + 123)
    out = tmp_path / "out.mp4"
    firsts: list[int] = []
    pump = PipePump(read_fd, Sink(path=str(out)), chunk_size=256 * KIB,
                    on_first_bytes=lambda: firsts.append(1))
    with pump:
        writer = start_writer(pipe, data)
    assert pump.join(JOIN_TIMEOUT_S)
    writer.join(JOIN_TIMEOUT_S)
    stats = pump.stats()
    assert out.read_bytes() == data
    assert stats.bytes == len(data)
    assert stats.error is None
    assert 0 < stats.high_water <= 256 * KIB
    assert stats.reads >= len(data) // (256 * KIB)
    assert stats.chunk_size == 256 * KIB
    assert firsts == [1]


def test_the_pump_reads_with_what_windows_has(pipe: Pipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' os module has no readv (POSIX only): the pump must copy every byte without it."""
    monkeypatch.delattr(os, "readv")
    data = os.urandom(2 * 1024 * KIB + 7)
    out = tmp_path / "out.mp4"
    pump = PipePump(pipe.read_fd, Sink(path=str(out)), chunk_size=256 * KIB)
    with pump:
        writer = start_writer(pipe, data)
    assert pump.join(JOIN_TIMEOUT_S)
    writer.join(JOIN_TIMEOUT_S)
    assert pump.stats().error is None
    assert out.read_bytes() == data


@linux_only
def test_high_water_is_the_largest_single_read(pipe: Pipe, tmp_path: Path) -> None:
    """A full pipe drained with one big read: high water equals what was waiting."""
    read_fd = pipe.read_fd
    granted = tune_pipe(pipe.write_fd, 512 * KIB)
    assert granted is not None and granted >= 512 * KIB
    waiting = os.urandom(300 * KIB)
    assert os.write(pipe.write_fd, waiting) == len(waiting)  # fits in the pipe: no thread needed
    pipe.close(pipe.write_fd)
    out = tmp_path / "out.mp4"
    with PipePump(read_fd, Sink(path=str(out)), chunk_size=1024 * KIB, pipe_size=granted) as pump:
        pass
    stats = pump.stats()
    assert (stats.bytes, stats.reads, stats.high_water, stats.pipe_size) == (300 * KIB, 1, 300 * KIB, granted)
    assert out.read_bytes() == waiting


@linux_only
@pytest.mark.parametrize("requested", [64 * KIB, 256 * KIB, 1024 * KIB, 100_000])
def test_tune_pipe_grants_at_least_the_request(pipe: Pipe, requested: int) -> None:
    read_fd = pipe.read_fd
    granted = tune_pipe(read_fd, requested)
    assert granted is not None and granted >= requested
    assert fcntl.fcntl(read_fd, F_GETPIPE_SZ) == granted
    assert granted & (granted - 1) == 0  # the kernel rounds to a power of two pages


@linux_only
def test_tune_pipe_above_the_limit_gets_the_limit_or_more(pipe: Pipe) -> None:
    read_fd = pipe.read_fd
    cap = int(Path(PIPE_MAX_SIZE_FILE).read_text())
    granted = tune_pipe(read_fd, cap * 4)
    # Unprivileged: capped at pipe-max-size; with CAP_SYS_RESOURCE (root) the request itself.
    assert granted is not None and granted >= cap
    assert fcntl.fcntl(read_fd, F_GETPIPE_SZ) == granted


def test_tune_pipe_on_a_non_pipe_reports_none(tmp_path: Path) -> None:
    with open(tmp_path / "f", "wb") as handle:
        result = tune_pipe(handle.fileno(), 1024 * KIB)
    assert result is None


def test_sink_creates_no_file_without_bytes(pipe: Pipe, tmp_path: Path) -> None:
    read_fd = pipe.read_fd
    out = tmp_path / "out.mp4"
    sink = Sink(path=str(out))
    pipe.close(pipe.write_fd)  # end of stream before any byte
    with PipePump(read_fd, sink) as pump:
        pass
    assert pump.stats().bytes == 0
    assert not sink.created
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_sink_refuses_an_existing_file(pipe: Pipe, tmp_path: Path) -> None:
    """O_EXCL: a file that appeared after the pre-flight check is never overwritten."""
    read_fd = pipe.read_fd
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    errors: list[OSError] = []
    with PipePump(read_fd, Sink(path=str(out)), on_error=errors.append) as pump:
        writer = start_writer(pipe, b"x" * (512 * KIB))
    writer.join(JOIN_TIMEOUT_S)
    assert not writer.is_alive()
    stats = pump.stats()
    assert isinstance(stats.error, FileExistsError)
    assert [type(e) for e in errors] == [FileExistsError]
    assert stats.bytes == 0
    assert out.read_bytes() == b"precious"


def test_sink_overwrite_truncates(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old contents that are longer")
    sink = Sink(path=str(out), overwrite=True)
    sink.write(memoryview(b"new"))
    sink.close()
    assert out.read_bytes() == b"new"


def test_sink_needs_exactly_one_destination(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Sink()
    with pytest.raises(ValueError, match="exactly one"):
        Sink(path=str(tmp_path / "a"), fd=1)


def test_fd_sink_is_not_closed_by_the_pump(pipe: Pipe, tmp_path: Path) -> None:
    read_fd = pipe.read_fd
    out = tmp_path / "stdout.bin"
    with open(out, "wb") as handle:
        with PipePump(read_fd, Sink(fd=handle.fileno())) as pump:
            start_writer(pipe, b"abc" * 1000)
        os.fstat(handle.fileno())  # still open: -o - leaves stdout to its owner
    assert out.read_bytes() == b"abc" * 1000
    assert pump.stats().bytes == 3000


class FullDisk(Sink):
    """A sink that takes ``budget`` bytes, then fails like a full disk."""

    def __init__(self, budget: int) -> None:
        super().__init__(fd=-1)
        self.budget = budget
        self.written = 0
        self.attempts = 0

    def write(self, data: memoryview) -> None:
        self.attempts += 1
        if self.written + len(data) > self.budget:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.written += len(data)


def test_write_error_is_recorded_and_the_pipe_keeps_draining(pipe: Pipe) -> None:
    read_fd = pipe.read_fd
    sink = FullDisk(budget=128 * KIB)
    errors: list[OSError] = []
    total = 8 * 1024 * KIB  # far more than any pipe buffer: a stalled reader would block the writer
    with PipePump(read_fd, sink, chunk_size=64 * KIB, on_error=errors.append) as pump:
        writer = start_writer(pipe, b"\0" * total)
        wait_until(lambda: not writer.is_alive(), JOIN_TIMEOUT_S, message="the writer to finish (never blocked)")
    stats = pump.stats()
    assert stats.error is not None and stats.error.errno == errno.ENOSPC
    assert is_disk_full(stats.error)
    assert len(errors) == 1 and errors[0] is stats.error  # reported once, not once per chunk
    assert stats.bytes == sink.written <= 128 * KIB
    assert sink.attempts == stats.reads + 1  # nothing written after the failure


def test_write_error_on_a_broken_pipe_sink(pipe: Pipe) -> None:
    """``-o -`` into a reader that went away: EPIPE is recorded, not a full disk."""
    destination = Pipe()
    destination.close(destination.read_fd)
    errors: list[OSError] = []
    try:
        with PipePump(pipe.read_fd, Sink(fd=destination.write_fd), on_error=errors.append) as pump:
            writer = start_writer(pipe, b"y" * (2 * 1024 * KIB))
            wait_until(lambda: not writer.is_alive(), JOIN_TIMEOUT_S, message="the writer to finish")
    finally:
        destination.close_all()
    error = pump.stats().error
    assert isinstance(error, BrokenPipeError)
    assert not is_disk_full(error)
    assert errors == [error]


@pytest.mark.parametrize(("code", "full"), [(errno.ENOSPC, True), (errno.EDQUOT, True), (errno.EIO, False)])
def test_is_disk_full(code: int, full: bool) -> None:
    assert is_disk_full(OSError(code, os.strerror(code))) is full
    assert is_disk_full(ValueError("no")) is False
