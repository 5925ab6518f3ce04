"""One recording: FFmpeg, the pipe pump, the stderr reader and the sidecars.

The :class:`Recorder` starts FFmpeg through :class:`ManagedProcess`, pumps its
fragmented MP4 to the destination, watches for the end (duration, a stop
request, FFmpeg exiting, a write error, no first frame, a stall) and stops
everything in order. Then :func:`caprec.capture.record.ending.finish_segment`
finishes the file (remux to a regular MP4 at a clean stop, read it back
before calling it a success) and words how it ended.

The segment's types live by concern (:mod:`caprec.capture.record.control` for stop
and pause requests, :mod:`caprec.capture.record.results` for the target, stats and
result) and are importable from here too: this module is the segment's API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from caprec.capture.errors import DeviceError
from caprec.capture.ffmpeg.argv import STATS_PERIOD_S, Audio, Encoding, TrackFiles, VideoSource, build_record_argv
from caprec.capture.ffmpeg.binary import FFmpegBinary
from caprec.capture.ffmpeg.finish import ffmpeg_file_url
from caprec.capture.ffmpeg.process import ManagedProcess
from caprec.capture.ffmpeg.progress import WALLCLOCK_TOLERANCE_S, LogLine, StderrReader
from caprec.capture.files.diskspace import DiskWatch
from caprec.capture.platform.permissions import no_first_frame_hint
from caprec.capture.record.control import StopControl as StopControl
from caprec.capture.record.ending import finish_segment, reader_closed
from caprec.capture.record.pump import DEFAULT_PIPE_BUFFER, PipePump, PumpSink, Sink, tune_pipe
from caprec.capture.record.results import RecordingResult as RecordingResult
from caprec.capture.record.results import RecordingStats as RecordingStats
from caprec.capture.record.results import Status as Status
from caprec.capture.record.results import Target as Target

# How often the watch loop wakes: the bound on how late caprec notices a
# stop request, FFmpeg's exit or a write error.
TICK_S = 0.1
# Between the first frame and the last second of a --duration only an unexpected FFmpeg exit,
# a stall and low disk space need the tick (stops, pauses and pump errors wake the loop at once):
# each wake costs ~0.1-0.15 ms of CPU on a small shared VM, so 2 wakes a second instead of 10
# save ~1 ms of CPU per second of recording; an FFmpeg that dies is noticed within half a second.
STEADY_TICK_S = 0.5
# ...and the fast tick again this close to a --duration's end, where FFmpeg's exit is due.
ENDING_WINDOW_S = 1.0
STATS_INTERVAL_S = 0.25
# No frame by then: a wrong device, or (macOS) a missing Screen Recording
# permission prompt that blocks FFmpeg.
FIRST_FRAME_TIMEOUT_S = 15.0
# FFmpeg ends a --duration recording itself (-t); this backstop covers a
# device that stalls so that -t is never reached.
DURATION_GRACE_S = 10.0
THREAD_JOIN_TIMEOUT_S = 10.0
# FFmpeg's progress block (its frame count) comes every STATS_PERIOD_S (0.5 s) for live stats; with no
# reader of them, every UNWATCHED_STATS_PERIOD_S: it then serves only the stall check below, and each
# block wakes caprec's stderr reader (~0.15 ms of CPU on a small shared VM).
UNWATCHED_STATS_PERIOD_S = 1.0
# No new frame for this long while recording is a stall (a frozen or starved FFmpeg).
STALL_AFTER_S = 2.0
# ...or this many frame intervals, for a slow --fps (a time-lapse at 0.5 fps is not stalled).
STALL_AFTER_FRAMES = 3


class Sidecar(Protocol):
    """Something recorded beside the video on the same timeline (the cursor log).

    The caller owns its lifecycle (start, pause, stop); the recorder only
    tells it where t = 0 of the video is and reads its stats for displays.
    """

    def set_origin(self, *, monotonic: float, wall: float) -> None: ...
    def stats(self) -> Any: ...


@dataclass
class _Watch:
    """Mutable state of one recording, touched by the pump and reader threads."""

    first_output: float | None = None
    pump_error: OSError | None = None
    origin_set: bool = False
    last_warning: str | None = None
    stall_after: float = STALL_AFTER_S
    last_frame: int = 0
    last_frame_at: float | None = None
    stall_from: float | None = None  # when the last new frame came, while stalled
    stall_done_s: float = 0.0  # the ended stalls' total
    stalls: int = 0

    def see_frames(self, frame: int, now: float) -> str | None:
        """Track FFmpeg's frame count; a message when a stall starts or ends, else None."""
        if self.last_frame_at is None or frame != self.last_frame:
            message = None
            if self.stall_from is not None:
                lasted = now - self.stall_from
                self.stall_done_s += lasted
                message = f"ffmpeg resumed after a {lasted:.1f} s stall (no new frame)"
                self.stall_from = None
            self.last_frame, self.last_frame_at = frame, now
            return message
        if self.stall_from is None and now - self.last_frame_at >= self.stall_after:
            self.stall_from = self.last_frame_at
            self.stalls += 1
            return f"ffmpeg stalled: no new frame for {now - self.last_frame_at:.1f} s"
        return None

    def stall(self, now: float) -> tuple[float, float]:
        """(the current stall's length, all stalls' total) at ``now``."""
        current = 0.0 if self.stall_from is None else now - self.stall_from
        return current, self.stall_done_s + current


class Recorder:
    """Runs recordings with one FFmpeg binary.

    Collaborators are arguments (the process class, the clock, timeouts) so
    that tests hand in a scripted FFmpeg or shorter deadlines.
    """

    def __init__(self, ffmpeg: FFmpegBinary, *,
                 process_factory: Callable[[list[str]], ManagedProcess] = ManagedProcess,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 first_frame_timeout: float = FIRST_FRAME_TIMEOUT_S,
                 pipe_buffer: int = DEFAULT_PIPE_BUFFER) -> None:
        self.ffmpeg = ffmpeg
        self._process_factory = process_factory
        self._clock = clock
        self._wall_clock = wall_clock
        self._first_frame_timeout = first_frame_timeout
        self._pipe_buffer = pipe_buffer

    def argv(self, source: VideoSource, encoding: Encoding, *, audio: Audio | None = None,
             tracks: TrackFiles | None = None, output_queue_size: int | None = None,
             live_stats: bool = True) -> list[str]:
        """The FFmpeg command a recording of ``source`` runs (video to caprec's pipe).

        ``live_stats`` False: no one reads the recording's live stats, and FFmpeg reports its
        progress every :data:`UNWATCHED_STATS_PERIOD_S` instead of every ``STATS_PERIOD_S``.
        """
        return build_record_argv(
            source, encoding, ffmpeg_path=self.ffmpeg.path, audio=audio, tracks=tracks, url=ffmpeg_file_url,
            ffmpeg_major=self.ffmpeg.major, output_queue_size=output_queue_size,
            stats_period=STATS_PERIOD_S if live_stats else UNWATCHED_STATS_PERIOD_S,
        )

    def record(self, source: VideoSource, encoding: Encoding, target: Target, *,
               stop: StopControl | None = None,
               on_stats: Callable[[RecordingStats], None] | None = None,
               on_warning: Callable[[str], None] | None = None,
               sidecar: Sidecar | None = None,
               audio: Audio | None = None,
               tracks: TrackFiles | None = None,
               output_queue_size: int | None = None,
               finalize: bool = True,
               finalize_on_pause: bool = True,
               on_pause: Callable[[], None] | None = None,
               on_started: Callable[[], None] | None = None) -> RecordingResult:
        """Record one segment: until the duration, a stop or pause request, or a failure.

        ``audio`` is muxed into the video, or written to the ``tracks`` files
        (each audio input, the camera) when given. ``finalize`` rewrites the
        files with their index first at a clean stop (a session joining
        segments does that itself); with ``finalize_on_pause`` False, not when
        a pause ended the segment. The
        rewrite is also the file's read-back: one pass over it.
        ``on_pause`` is called the moment a pause request ends the segment,
        before FFmpeg is stopped (the cursor log stops taking events).
        ``on_started`` is called once FFmpeg has been spawned: what can run
        beside its start (the cursor sidecar) waits for it. Raises a
        :class:`CaptureError` when nothing was recorded (FFmpeg would not
        start, no first frame); otherwise returns a result whose ``error``
        says what went wrong, with every file kept.
        """
        stop = stop or StopControl()
        argv = self.argv(source, encoding, audio=audio, tracks=tracks, output_queue_size=output_queue_size,
                         live_stats=on_stats is not None)
        proc = self._process_factory(argv)
        watch = _Watch(stall_after=max(STALL_AFTER_S, STALL_AFTER_FRAMES / source.fps if source.fps > 0 else 0.0))
        try:
            proc.start()
        except OSError as exc:
            raise DeviceError(f"cannot start {self.ffmpeg.path}: {exc}") from exc
        if on_started is not None:
            on_started()
        pipe_size = tune_pipe(proc.stdout.fileno(), self._pipe_buffer)
        chunk = max(self._pipe_buffer, pipe_size or 0)

        def mark_first_output() -> None:
            watch.first_output = self._clock()

        def pump_failed(exc: OSError) -> None:
            watch.pump_error = exc
            stop.wake()  # end the watch loop now, not at the next tick

        def warned(line: LogLine) -> None:
            watch.last_warning = line.text
            if on_warning is not None:
                on_warning(line.text)

        sink: PumpSink
        if target.sink is not None:
            sink = target.sink
        else:
            sink = Sink(path=str(target.path), overwrite=target.overwrite) if target.path else Sink(fd=target.fd)
        reader = StderrReader(proc.stderr, on_log=warned)
        pump = PipePump(proc.stdout.fileno(), sink, chunk_size=chunk, pipe_size=pipe_size,
                        on_error=pump_failed, on_first_bytes=mark_first_output)
        disk = None if target.path is None else DiskWatch(target.path, clock=self._clock)
        started = self._clock()

        def snapshot() -> RecordingStats:
            pumped = pump.stats()
            progress = reader.state.progress
            origin = watch.first_output
            stalled, stall_total = watch.stall(self._clock())
            return RecordingStats(
                elapsed_s=0.0 if origin is None else self._clock() - origin,
                target_fps=source.fps, duration_s=encoding.duration, progress=progress,
                bytes=pumped.bytes, pipe_size=pipe_size, pipe_high_water=pumped.high_water,
                chunk_size=chunk, warnings=reader.state.warnings, last_warning=watch.last_warning,
                started=origin is not None, cursor=None if sidecar is None else sidecar.stats(),
                stalled_s=stalled, stall_total_s=stall_total, stalls=watch.stalls,
            )

        reason = "ffmpeg-exit"
        reader.start()
        pump.start()
        try:
            reason = self._watch(proc, stop, watch, reader, snapshot, on_stats, sidecar, disk,
                                 pump=pump, started=started, duration=encoding.duration, on_warning=on_warning)
            if reason == "pause" and on_pause is not None:
                on_pause()
        finally:
            outcome = proc.stop(fast=stop.fast or reason in ("error", "no-first-frame", "reader-closed"),
                                hurry=lambda: stop.fast)
            pump.join(THREAD_JOIN_TIMEOUT_S)
            reader.join(THREAD_JOIN_TIMEOUT_S)
        return finish_segment(ffmpeg_path=self.ffmpeg.path, first_frame_timeout=self._first_frame_timeout,
                              reason=reason, returncode=outcome.returncode, argv=argv, target=target, sink=sink,
                              pump_error=watch.pump_error, reader=reader, stats=snapshot(),
                              cursor=None if sidecar is None else sidecar.stats(), fast=stop.fast,
                              finalize=finalize and (finalize_on_pause or reason != "pause"), disk=disk,
                              audio=audio, tracks=tracks,
                              no_frame_hint=no_first_frame_hint(source, audio), source=source)

    def _watch(self, proc: ManagedProcess, stop: StopControl, watch: _Watch, reader: StderrReader,
               snapshot: Callable[[], RecordingStats],
               on_stats: Callable[[RecordingStats], None] | None, sidecar: Sidecar | None,
               disk: DiskWatch | None, *, pump: PipePump, started: float, duration: float | None,
               on_warning: Callable[[str], None] | None = None) -> str:
        next_stats = started
        announced = False
        tick = TICK_S
        # Live stats keep their pace; without a reader of them the loop wakes only for what it watches.
        steady = STEADY_TICK_S if on_stats is None else min(STEADY_TICK_S, STATS_INTERVAL_S)
        while True:
            if stop.wait(tick):
                if stop.requested:
                    return "user"
                if watch.pump_error is not None:
                    return "reader-closed" if reader_closed(watch.pump_error, pump) else "error"
                if stop.pause_pending:
                    if watch.first_output is not None:
                        return "pause"
                    # A segment needs a frame before it can end: keep the
                    # toggle pending and wait on FFmpeg instead of spinning.
                    proc.wait(TICK_S)
            if proc.poll() is not None:
                return "ffmpeg-exit"
            now = self._clock()
            first = watch.first_output
            if first is None and now - started > self._first_frame_timeout:
                return "no-first-frame"
            if first is not None and sidecar is not None and not watch.origin_set:
                sidecar.set_origin(**self._origin(reader, first))
                watch.origin_set = True
            if first is not None and (stalled := watch.see_frames(reader.state.progress.frame, now)) is not None:
                watch.last_warning = stalled
                if on_warning is not None:
                    on_warning(stalled)
            if first is not None and duration is not None and now - first > duration + DURATION_GRACE_S:
                return "duration-backstop"
            if disk is not None and disk.should_stop(pump.stats().bytes):
                return "disk-low"
            # The first frame is reported at once (displays switch from "starting" to recording on
            # ``RecordingStats.started``), not at the next stats interval.
            if on_stats is not None and (now >= next_stats or (first is not None and not announced)):
                on_stats(snapshot())
                next_stats = now + STATS_INTERVAL_S
                announced = first is not None
            ending = duration is not None and first is not None and now - first > duration - ENDING_WINDOW_S
            tick = TICK_S if first is None or ending else steady

    def _origin(self, reader: StderrReader, first_output: float) -> dict[str, float]:
        """t = 0 of the video on caprec's monotonic clock, and as Unix time.

        x11grab and gdigrab stamp frames with the wall clock, and FFmpeg
        prints the first one as the input's ``start:``: that is exactly the
        first frame. Other inputs (lavfi starts at 0) fall back to the
        moment the first output reached caprec.
        """
        offset = self._wall_clock() - self._clock()
        start = reader.state.input_start
        if start is not None and abs(start - self._wall_clock()) < WALLCLOCK_TOLERANCE_S:
            return {"monotonic": start - offset, "wall": start}
        return {"monotonic": first_output, "wall": first_output + offset}

