"""Frames stream from an FFmpeg decoder through a numpy transform into an FFmpeg encoder.

Both FFmpegs are children that this module starts (through
:class:`caprec.capture.ffmpeg.process.ManagedProcess`), feeds and stops; the pipes get
the project's tuned buffer (one frame, see :func:`caprec.capture.record.pump.tune_pipe`).
A reader thread, owned by :func:`run_pipeline` and always stopped and
joined, decodes ahead into a small pool of reused frame buffers, so
decoding, the transform and encoding overlap and memory is a fixed
number of frames whatever the length.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from caprec.capture.ffmpeg.process import ManagedProcess
from caprec.capture.record.pump import DEFAULT_PIPE_BUFFER, tune_pipe
from caprec.capture.render.spec import RenderFailedError

# Frames decoded ahead of the transform: enough to ride out an encoder
# hiccup, few enough that memory stays a handful of frames.
POOL_FRAMES = 4
STDERR_LINES = 20
PROGRESS_INTERVAL_S = 0.25
# After the last frame the encoder finishes the file (moov first: one more
# pass over it), and the decoder has only to exit: generous for big files.
CHILD_EXIT_TIMEOUT_S = 120.0
READER_JOIN_TIMEOUT_S = 10.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

Frame = npt.NDArray[np.uint8]
Compose = Callable[[int, Frame, Frame], None]


@dataclass(frozen=True)
class PipelineProgress:
    """Frames written so far and the seconds spent."""

    frames: int
    elapsed_s: float


@dataclass(frozen=True)
class PipelineStats:
    """Where the time went: waiting for decoded frames, transforming, waiting on the encoder.

    ``decode_cpu_s``/``encode_cpu_s`` are the FFmpeg children's CPU seconds
    (Linux; None elsewhere).
    """

    frames: int
    elapsed_s: float
    wait_decode_s: float
    transform_s: float
    wait_encode_s: float
    decode_cpu_s: float | None
    encode_cpu_s: float | None


class _StderrTail:
    """Drains a child's stderr on a thread it owns, keeping the last lines."""

    def __init__(self, process: ManagedProcess) -> None:
        self._stream = process.stderr
        self.lines: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._thread = threading.Thread(target=self._run, name="caprec-render-stderr", daemon=True)

    def _run(self) -> None:
        for raw in iter(self._stream.readline, b""):
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.lines.append(line)

    def last(self) -> str:
        return self.lines[-1] if self.lines else ""

    @contextlib.contextmanager
    def running(self) -> Iterator[_StderrTail]:
        self._thread.start()
        try:
            yield self
        finally:
            self._thread.join(READER_JOIN_TIMEOUT_S)


class _Reader:
    """Reads whole frames from the decoder into pooled buffers and queues them (None at the end)."""

    def __init__(self, process: ManagedProcess, frame_size: int) -> None:
        self._stream = process.stdout
        self._frame_size = frame_size
        self.free: queue.Queue[Frame] = queue.Queue()
        for _ in range(POOL_FRAMES):
            self.free.put(np.empty(frame_size, dtype=np.uint8))
        self.ready: queue.Queue[Frame | None] = queue.Queue()
        self.partial = 0
        self.error: OSError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="caprec-render-decode", daemon=True)

    def _fill(self, buffer: Frame) -> int:
        view = memoryview(buffer.data)
        done = 0
        while done < self._frame_size:
            count = self._stream.readinto(view[done:])  # type: ignore[attr-defined]
            if not count:
                break
            done += count
        return done

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                buffer = self.free.get()
                if self._stop.is_set():
                    break
                count = self._fill(buffer)
                if count < self._frame_size:
                    self.partial = count
                    break
                self.ready.put(buffer)
        except OSError as exc:
            self.error = exc
        finally:
            self.ready.put(None)

    @contextlib.contextmanager
    def running(self) -> Iterator[_Reader]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self.free.put(np.empty(0, dtype=np.uint8))  # wake it if it waits for a buffer
            self._thread.join(READER_JOIN_TIMEOUT_S)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a child that has exited but is not reaped yet (Linux /proc)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


def _exit_then_cpu(process: ManagedProcess, timeout: float) -> tuple[int | None, float | None]:
    """Wait for ``process`` to exit, read its CPU time before reaping it, then reap it."""
    cpu = None
    if hasattr(os, "waitid") and sys.platform.startswith("linux"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                # WNOWAIT: the child stays a zombie, so /proc still has its counters.
                info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
            except ChildProcessError:
                break
            if info is not None:
                cpu = _cpu_seconds(process.pid)
                break
            time.sleep(0.01)  # polling a child's exit with a deadline
    return process.wait(timeout), cpu


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


@dataclass
class _Loop:
    """The frame loop's counters (seconds spent waiting and transforming)."""

    frames: int = 0
    wait_decode: float = 0.0
    transform: float = 0.0
    wait_encode: float = 0.0
    encoder_gone: bool = False


def _frame_loop(reader: _Reader, compose: Compose, in_fd: int, out_size: int,
                on_progress: Callable[[PipelineProgress], None] | None, clock: Callable[[], float],
                started: float) -> _Loop:
    """Take decoded frames until the end, compose each and write it to the encoder."""
    loop = _Loop()
    out_frame = np.empty(out_size, dtype=np.uint8)
    out_view = out_frame.data
    next_report = started + PROGRESS_INTERVAL_S
    while True:
        t0 = clock()
        frame = reader.ready.get()
        t1 = clock()
        loop.wait_decode += t1 - t0
        if frame is None:
            return loop
        compose(loop.frames, frame, out_frame)
        reader.free.put(frame)
        t2 = clock()
        loop.transform += t2 - t1
        try:
            _write_all(in_fd, out_view)
        except OSError:
            loop.encoder_gone = True
            return loop
        loop.wait_encode += clock() - t2
        loop.frames += 1
        if on_progress is not None and t2 >= next_report:
            on_progress(PipelineProgress(loop.frames, t2 - started))
            next_report = t2 + PROGRESS_INTERVAL_S


def run_pipeline(*, decode: Sequence[str], encode: Sequence[str], in_size: int, out_size: int,
                 compose: Compose, on_progress: Callable[[PipelineProgress], None] | None = None,
                 pipe_size: int = DEFAULT_PIPE_BUFFER, clock: Callable[[], float] = time.monotonic
                 ) -> PipelineStats:
    """Run decoder -> ``compose(index, in_frame, out_frame)`` -> encoder to the end.

    Raises :class:`RenderFailedError` when either FFmpeg fails; both
    processes and the reader thread are stopped and reaped on every path
    (KeyboardInterrupt too).
    """
    decoder = ManagedProcess(decode)
    encoder = ManagedProcess(encode)
    try:
        decoder.start()
        encoder.start()
    except OSError as exc:
        with contextlib.suppress(RuntimeError):
            decoder.abandon()
        raise RenderFailedError(f"cannot run ffmpeg ({exc}); check the ffmpeg path") from None
    started = clock()
    stdin = encoder.proc.stdin
    assert stdin is not None
    tune_pipe(stdin.fileno(), max(pipe_size, out_size))
    tune_pipe(decoder.stdout.fileno(), max(pipe_size, in_size))
    decoder_tail, encoder_tail = _StderrTail(decoder), _StderrTail(encoder)
    reader = _Reader(decoder, in_size)
    failed: str | None = None
    cpu_decode = cpu_encode = None
    try:
        with decoder_tail.running(), encoder_tail.running(), reader.running():
            try:
                loop = _frame_loop(reader, compose, stdin.fileno(), out_size, on_progress, clock, started)
                if loop.encoder_gone:
                    failed = "encoder"
                else:
                    code, cpu_decode = _exit_then_cpu(decoder, CHILD_EXIT_TIMEOUT_S)
                    failed = "decoder" if code != 0 or reader.error is not None else None
                stdin.close()  # end of stream: the encoder finishes the file
                if failed is None:
                    code, cpu_encode = _exit_then_cpu(encoder, CHILD_EXIT_TIMEOUT_S)
                    failed = "encoder" if code != 0 else None
            finally:
                # Stop the children before the reader is joined: it may be blocked on the decoder's pipe.
                # On the way out of a finished render both have exited already; otherwise (Ctrl-C, a
                # failure) the output is thrown away, so they are killed rather than let finish it.
                decoder.abandon()
                encoder.abandon()
    finally:
        decoder.abandon()
        encoder.abandon()
    if failed == "decoder":
        raise RenderFailedError(f"decoding the bundle failed: {decoder_tail.last() or 'ffmpeg exited early'}")
    if failed == "encoder":
        raise RenderFailedError(f"encoding failed: {encoder_tail.last() or 'ffmpeg exited early'}")
    if loop.frames == 0:
        raise RenderFailedError("the bundle decoded to no frames; nothing to render (check the trim)")
    elapsed = clock() - started
    if on_progress is not None:
        on_progress(PipelineProgress(loop.frames, elapsed))
    return PipelineStats(loop.frames, elapsed, loop.wait_decode, loop.transform, loop.wait_encode,
                         cpu_decode, cpu_encode)
