"""A replay-buffer recording: FFmpeg into an in-memory ring, clips saved on request.

:class:`ReplaySession` runs one :class:`~caprec.capture.record.segment.Recorder` recording
whose pump writes into a :class:`~caprec.capture.replay.ring.ReplayBuffer` instead of a
file. Nothing reaches the disk until a save is requested through
:class:`SaveControl` (a key, a signal): a saver thread owned by the session
takes a snapshot of the ring and writes it (:func:`caprec.capture.replay.save.save_clip`)
while the recording goes on. The cursor log, when on, is a ring as well
(:class:`~caprec.capture.replay.cursor.CursorRing`), trimmed with the video.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from caprec.capture.cursor.listener import CursorSidecar
from caprec.capture.cursor.writer import CursorStats, CursorWriter
from caprec.capture.errors import CaptureError
from caprec.capture.ffmpeg.argv import Audio, Encoding, VideoSource
from caprec.capture.record.segment import Recorder, RecordingResult, RecordingStats, StopControl, Target
from caprec.capture.record.spec import CursorSpec
from caprec.capture.replay.cursor import CursorRing
from caprec.capture.replay.ring import DEFAULT_MAX_MEMORY, BufferStats, ReplayBuffer
from caprec.capture.replay.save import ClipPattern, SavedClip, SaveError, save_clip

# The saver wakes this often to notice the end of the recording.
SAVER_TICK_S = 0.1


class SaveControl:
    """Save requests from signal handlers, keys or callers; safe to call from a signal handler."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.requests = 0

    def request(self) -> None:
        """Ask for one save of the last N seconds."""
        self.requests += 1
        self._event.set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def clear(self) -> None:
        self._event.clear()


@dataclass(frozen=True)
class ReplaySpec:
    """A replay recording: what to capture, how long a save is, where clips go.

    ``max_bytes`` bounds the video held in memory; ``save_on_exit`` saves
    the last ``window_s`` when the recording ends.
    """

    source: VideoSource
    encoding: Encoding
    window_s: float
    pattern: ClipPattern
    max_bytes: int = DEFAULT_MAX_MEMORY
    audio: Audio | None = None
    queue_size: int | None = None
    cursor: CursorSpec | None = None
    save_on_exit: bool = False


@dataclass(frozen=True)
class SaveOutcome:
    """One save: the clip written, or why not. ``taken_at`` is when the snapshot was taken (Unix time).

    ``empty`` is a request that came before the first fragment: nothing failed, there was nothing yet.
    ``cursor_missing``: the cursor log's slice could not be written beside the clip.
    """

    clip: SavedClip | None
    error: str | None
    taken_at: float
    on_exit: bool = False
    empty: bool = False
    cursor_missing: bool = False


@dataclass(frozen=True)
class ReplayResult:
    """How the replay recording ended, every save it made and what the ring held last."""

    recording: RecordingResult
    saves: tuple[SaveOutcome, ...]
    buffer: BufferStats
    cursor: CursorStats | None


class ReplayCursor(Protocol):
    """The cursor sidecar as the replay session drives it (caprec.capture.cursor.listener.CursorSidecar)."""

    def start(self) -> None: ...
    def stop(self) -> CursorStats: ...
    def stats(self) -> CursorStats: ...
    def set_origin(self, *, monotonic: float, wall: float) -> None: ...
    def flush(self) -> None: ...


class _RingSidecar:
    """A pynput sidecar whose writer "writes" into a :class:`CursorRing`."""

    def __init__(self, spec: CursorSpec, ring: CursorRing) -> None:
        self._writer = CursorWriter(spec.path, spec.context, flush_interval=spec.flush_interval,
                                    opener=lambda _path: ring)
        self._sidecar = CursorSidecar(self._writer)
        self.start = self._sidecar.start
        self.stop = self._sidecar.stop
        self.stats = self._sidecar.stats
        self.set_origin = self._sidecar.set_origin

    def flush(self) -> None:
        self._writer.flush()


def ring_sidecar(spec: CursorSpec, ring: CursorRing) -> ReplayCursor:
    """The default cursor factory: real pointer events into ``ring``."""
    return _RingSidecar(spec, ring)


class ReplaySession:
    """Runs replay recordings with one :class:`Recorder`.

    ``cursor_factory`` makes the cursor sidecar for a spec and its ring
    (tests hand in fakes); ``now`` names clips (local time).
    """

    def __init__(self, recorder: Recorder, *,
                 cursor_factory: Callable[[CursorSpec, CursorRing], ReplayCursor] = ring_sidecar,
                 now: Callable[[], datetime] = datetime.now,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._recorder = recorder
        self._cursor_factory = cursor_factory
        self._now = now
        self._wall_clock = wall_clock

    def run(self, spec: ReplaySpec, *, stop: StopControl, saves: SaveControl,
            on_saved: Callable[[SaveOutcome], None] | None = None,
            on_stats: Callable[[RecordingStats], None] | None = None,
            on_warning: Callable[[str], None] | None = None) -> ReplayResult:
        """Record into the ring until the duration, a stop or a failure; save on each request.

        ``on_saved`` is called (on the saver's thread) after each save.
        Raises :class:`CaptureError` when nothing was recorded.
        """
        warn = on_warning or (lambda text: None)
        ring = CursorRing() if spec.cursor is not None else None
        buffer = ReplayBuffer(window_s=spec.window_s, max_bytes=spec.max_bytes,
                              on_trim=None if ring is None else ring.trim_before)
        cursor = self._start_cursor(spec, ring, warn)
        outcomes: list[SaveOutcome] = []

        def save(*, on_exit: bool = False) -> None:
            outcome = self._save(spec, buffer, ring, cursor, on_exit=on_exit)
            outcomes.append(outcome)
            if on_saved is not None:
                on_saved(outcome)

        def held(stats: RecordingStats) -> None:
            # Nothing is written: the size a display shows is what the ring holds (what a save would copy).
            if on_stats is not None:
                on_stats(replace(stats, bytes=buffer.stats().bytes))

        cursor_stats: CursorStats | None = None
        try:
            with _saver(saves, save):
                result = self._recorder.record(
                    spec.source, spec.encoding, Target(sink=buffer), stop=stop, on_stats=held,
                    on_warning=warn, sidecar=cursor, audio=spec.audio, output_queue_size=spec.queue_size,
                    finalize=False)
            if spec.save_on_exit and buffer.stats().fragments:
                save(on_exit=True)
        finally:
            if cursor is not None:
                cursor_stats = cursor.stop()
        return ReplayResult(recording=replace(result, cursor=cursor_stats), saves=tuple(outcomes),
                            buffer=buffer.stats(), cursor=cursor_stats)

    def _start_cursor(self, spec: ReplaySpec, ring: CursorRing | None,
                      warn: Callable[[str], None]) -> ReplayCursor | None:
        if spec.cursor is None or ring is None:
            return None
        cursor = self._cursor_factory(spec.cursor, ring)
        try:
            cursor.start()
        except CaptureError as exc:
            warn(f"replaying without the cursor log: {exc}")
            return None
        return cursor

    def _save(self, spec: ReplaySpec, buffer: ReplayBuffer, ring: CursorRing | None,
              cursor: ReplayCursor | None, *, on_exit: bool) -> SaveOutcome:
        taken_at = self._wall_clock()
        if cursor is not None:
            cursor.flush()  # the events of the last flush interval belong in the clip too
        clip = buffer.snapshot()
        if clip is None:
            return SaveOutcome(clip=None, error="nothing to save yet: the first second is still being recorded",
                               taken_at=taken_at, on_exit=on_exit, empty=True)
        log = None if ring is None or cursor is None else ring.slice(clip.start_s, clip.end_s)
        try:
            saved = save_clip(clip, spec.pattern, ffmpeg_path=self._recorder.ffmpeg.path, when=self._now(),
                              cursor_log=log)
        except SaveError as exc:
            return SaveOutcome(clip=None, error=str(exc), taken_at=taken_at, on_exit=on_exit)
        return SaveOutcome(clip=saved, error=None, taken_at=taken_at, on_exit=on_exit,
                           cursor_missing=log is not None and saved.cursor is None)


@contextlib.contextmanager
def _saver(saves: SaveControl, save: Callable[[], None]) -> Iterator[None]:
    """A thread that makes one save per request, while inside; pending requests are served before exit."""
    done = threading.Event()
    served = 0

    def run() -> None:
        nonlocal served
        while True:
            saves.wait(SAVER_TICK_S)
            saves.clear()
            while served < saves.requests:
                served += 1
                save()
            if done.is_set() and served >= saves.requests:
                return

    thread = threading.Thread(target=run, name="caprec-replay-saver", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()

