"""One recording: FFmpeg, the pipe pump, the stderr reader and the sidecars.

The :class:`Recorder` starts FFmpeg through :class:`ManagedProcess`, pumps its
fragmented MP4 to the destination, watches for the end (duration, a stop
request, FFmpeg exiting, a write error, no first frame), stops everything in
order, then finishes the file: remux to a regular MP4 at a clean stop, and
read it back before calling it a success.
"""

from __future__ import annotations

import enum
import errno
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from capture.errors import (
    CaptureError,
    DeviceError,
    DiskFullError,
    DisplayError,
    NoFirstFrameError,
    RecordingFailedError,
    WriteError,
)
from capture.ffmpeg.argv import Audio, AudioBackend, AudioMix, Encoding, VideoSource, build_record_argv
from capture.ffmpeg.binary import FFmpegBinary
from capture.ffmpeg.encoders import most_specific_line
from capture.ffmpeg.finish import MediaCheck, ffmpeg_file_url, moved_output, remux_checked, verify_media
from capture.ffmpeg.process import ManagedProcess
from capture.ffmpeg.progress import WALLCLOCK_TOLERANCE_S, FFmpegProgress, LogLine, StderrReader
from capture.files.diskspace import DiskSpaceError, DiskWatch, has_room
from capture.platform.permissions import no_first_frame_hint
from capture.platform.x11info import window_end_note
from capture.record.pump import DEFAULT_PIPE_BUFFER, PipePump, PumpSink, Sink, is_disk_full, tune_pipe
from capture.units import format_bytes

# How often the watch loop wakes: the bound on how late caprec notices a
# stop request, FFmpeg's exit or a write error.
TICK_S = 0.1
STATS_INTERVAL_S = 0.25
# No frame by then: a wrong device, or (macOS) a missing Screen Recording
# permission prompt that blocks FFmpeg.
FIRST_FRAME_TIMEOUT_S = 15.0
# FFmpeg ends a --duration recording itself (-t); this backstop covers a
# device that stalls so that -t is never reached.
DURATION_GRACE_S = 10.0
THREAD_JOIN_TIMEOUT_S = 10.0
ERROR_LINES = 3
# FFmpeg exiting 0 this long before the --duration is an early end, not the end.
EARLY_END_TOLERANCE_S = 1.0
# No new frame for this long while recording is a stall (a frozen or starved FFmpeg);
# FFmpeg reports its frame count every STATS_PERIOD_S (0.5 s).
STALL_AFTER_S = 2.0
# ...or this many frame intervals, for a slow --fps (a time-lapse at 0.5 fps is not stalled).
STALL_AFTER_FRAMES = 3
# What x11grab logs when the X server goes away under it.
DISPLAY_LOST_MARKERS = ("xcb", "external library", "connection closed", "broken pipe")


class Status(enum.StrEnum):
    """How a recording ended."""

    COMPLETE = "complete"
    INTERRUPTED = "interrupted"  # stopped fast: the file plays, not remuxed
    FAILED = "failed"

    @classmethod
    def of(cls, *, error: CaptureError | None, fast: bool) -> Status:
        """Failed if anything failed, else interrupted by a fast stop, else complete."""
        if error is not None:
            return cls.FAILED
        return cls.INTERRUPTED if fast else cls.COMPLETE


class Sidecar(Protocol):
    """Something recorded beside the video on the same timeline (the cursor log).

    The caller owns its lifecycle (start, pause, stop); the recorder only
    tells it where t = 0 of the video is and reads its stats for displays.
    """

    def set_origin(self, *, monotonic: float, wall: float) -> None: ...
    def stats(self) -> Any: ...


class StopControl:
    """Stop and pause requests, shared between signal handlers and the recorder.

    The first :meth:`request` asks for a clean stop; a second one (the
    second Ctrl-C) asks for a fast one. :meth:`toggle_pause` (SIGUSR1, the
    space key) asks to pause or resume; the session takes each toggle once.
    Signal handlers call these, so they only set flags and an event.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self.requests = 0
        self._toggles = 0
        self._woken = False

    def request(self) -> None:
        self.requests += 1
        self._event.set()

    def toggle_pause(self) -> None:
        with self._lock:
            self._toggles += 1
        self._event.set()

    def wake(self) -> None:
        """Wake the watch loop without counting as a stop request (an engine-side failure)."""
        self._woken = True
        self._event.set()

    @property
    def requested(self) -> bool:
        return self.requests > 0

    @property
    def fast(self) -> bool:
        return self.requests > 1

    @property
    def pause_pending(self) -> bool:
        return self._toggles > 0

    def take_toggle(self) -> bool:
        """Consume one pause/resume toggle; True if there was one."""
        with self._lock:
            if self._toggles == 0:
                return False
            self._toggles -= 1
            if self._toggles == 0 and self.requests == 0 and not self._woken:
                self._event.clear()
            return True

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for a request; True if one is pending."""
        return self._event.wait(timeout)


@dataclass(frozen=True)
class Target:
    """Where the video goes: a file (``path``), an open descriptor (``fd``, for ``-o -``),
    or a sink of its own (``sink``: the replay buffer's ring)."""

    path: Path | None = None
    fd: int | None = None
    overwrite: bool = False
    sink: PumpSink | None = None


@dataclass(frozen=True)
class RecordingStats:
    """A live snapshot of a recording, for displays and stats files."""

    elapsed_s: float
    target_fps: float
    duration_s: float | None
    progress: FFmpegProgress
    bytes: int
    pipe_size: int | None
    pipe_high_water: int
    chunk_size: int
    warnings: int
    last_warning: str | None
    started: bool  # the first frame has arrived: the recording is live (reported at once, see Recorder)
    cursor: Any = None
    paused: bool = False
    segment: int = 1
    stalled_s: float = 0.0  # how long the current stall has lasted (0: frames are coming)
    stall_total_s: float = 0.0  # every stall so far, the current one included
    stalls: int = 0  # how many stalls so far, the current one included


@dataclass(frozen=True)
class RecordingResult:
    """What a recording left and how it ended."""

    status: Status
    stop_reason: str
    path: Path | None
    argv: list[str]
    stats: RecordingStats
    media: MediaCheck | None
    remuxed: bool
    notes: list[str] = field(default_factory=list)
    error: CaptureError | None = None
    cursor: Any = None
    ffmpeg_returncode: int | None = None
    segments: tuple[Any, ...] = ()


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
             audio_output: Path | None = None, output_queue_size: int | None = None) -> list[str]:
        """The FFmpeg command a recording of ``source`` runs (video to caprec's pipe)."""
        return build_record_argv(
            source, encoding, ffmpeg_path=self.ffmpeg.path, audio=audio,
            audio_output=None if audio_output is None else ffmpeg_file_url(audio_output),
            ffmpeg_major=self.ffmpeg.major, output_queue_size=output_queue_size,
        )

    def record(self, source: VideoSource, encoding: Encoding, target: Target, *,
               stop: StopControl | None = None,
               on_stats: Callable[[RecordingStats], None] | None = None,
               on_warning: Callable[[str], None] | None = None,
               sidecar: Sidecar | None = None,
               audio: Audio | None = None,
               audio_output: Path | None = None,
               output_queue_size: int | None = None,
               finalize: bool = True,
               finalize_on_pause: bool = True,
               on_pause: Callable[[], None] | None = None,
               on_started: Callable[[], None] | None = None) -> RecordingResult:
        """Record one segment: until the duration, a stop or pause request, or a failure.

        ``audio`` is muxed into the video, or written to ``audio_output`` when
        given. ``finalize`` rewrites the file with its index first at a
        clean stop (a session joining segments does that itself); with
        ``finalize_on_pause`` False, not when a pause ended the segment. The
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
        argv = self.argv(source, encoding, audio=audio, audio_output=audio_output,
                         output_queue_size=output_queue_size)
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
        return self._finish(reason=reason, returncode=outcome.returncode, argv=argv, target=target,
                            sink=sink, watch=watch, reader=reader, stats=snapshot(),
                            cursor=None if sidecar is None else sidecar.stats(), fast=stop.fast,
                            finalize=finalize and (finalize_on_pause or reason != "pause"), disk=disk,
                            audio=audio, audio_output=audio_output,
                            no_frame_hint=no_first_frame_hint(source, audio), source=source)

    def _watch(self, proc: ManagedProcess, stop: StopControl, watch: _Watch, reader: StderrReader,
               snapshot: Callable[[], RecordingStats],
               on_stats: Callable[[RecordingStats], None] | None, sidecar: Sidecar | None,
               disk: DiskWatch | None, *, pump: PipePump, started: float, duration: float | None,
               on_warning: Callable[[str], None] | None = None) -> str:
        next_stats = started
        announced = False
        while True:
            if stop.wait(TICK_S):
                if stop.requested:
                    return "user"
                if watch.pump_error is not None:
                    return "reader-closed" if _reader_closed(watch.pump_error, pump) else "error"
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

    def _finish(self, *, reason: str, returncode: int, argv: list[str], target: Target, sink: PumpSink,
                watch: _Watch, reader: StderrReader, stats: RecordingStats, cursor: Any,
                fast: bool, finalize: bool, disk: DiskWatch | None, audio: Audio | None,
                audio_output: Path | None, no_frame_hint: str = "",
                source: VideoSource | None = None) -> RecordingResult:
        lines = reader.last_lines(ERROR_LINES)
        reason_line = most_specific_line(lines)
        quoted = f": {reason_line}" if reason_line else ""
        path = target.path if sink.created else None
        error: CaptureError | None = None
        notes: list[str] = []
        if reason == "reader-closed":
            # `| head -c N`, `| ffprobe -`: the reader took what it wanted, as with any Unix tool.
            notes.append(f"the reader of stdout closed it after {format_bytes(stats.bytes)}; stopped there")
        elif watch.pump_error is not None:
            saved = format_bytes(stats.bytes)
            if is_disk_full(watch.pump_error):
                error = DiskFullError(f"the disk is full; stopped after saving {saved} to {target.path or 'stdout'}")
            else:
                error = WriteError(f"writing {target.path or 'stdout'} failed ({watch.pump_error.strerror}); "
                                   f"{saved} saved")
        elif reason == "no-first-frame":
            raise NoFirstFrameError(
                f"ffmpeg produced no frame within {self._first_frame_timeout:g} s{quoted}; {no_frame_hint}",
                ffmpeg_lines=lines)
        elif not sink.created and stats.bytes == 0:
            raise _startup_error(reader.last_lines(ERROR_LINES + 2), returncode, audio)
        elif reason == "ffmpeg-exit" and returncode != 0:
            error = RecordingFailedError(f"{_ffmpeg_died(returncode)}{quoted}", ffmpeg_lines=lines)
        elif reason == "ffmpeg-exit" and _ended_early(stats) and (window_end := _window_end(source)) is not None:
            # x11grab ends a window's recording when the window closes or shrinks: its natural end.
            notes.append(window_end)
        elif reason == "ffmpeg-exit" and _ended_early(stats):
            # Exit 0 before the end: x11grab ends its input "cleanly" when the X server goes away.
            error = RecordingFailedError(_early_end(lines, stats), ffmpeg_lines=lines)
        elif reason == "duration-backstop":
            error = RecordingFailedError(f"the capture device stalled; stopped{quoted}", ffmpeg_lines=lines)
        elif reason == "disk-low" and disk is not None:
            error = DiskSpaceError(f"{disk.message()}; {format_bytes(stats.bytes)} saved")
        if path is not None and isinstance(sink, Sink) and (moved := moved_output(
                path, identity=sink.identity, last_location=sink.last_location)) is not None:
            # Never remux, verify or report a file that is not the one written.
            return RecordingResult(status=Status.FAILED, stop_reason=reason, path=None, argv=argv, stats=stats,
                                   media=None, remuxed=False, notes=[moved], error=WriteError(moved),
                                   cursor=cursor, ffmpeg_returncode=returncode)

        media: MediaCheck | None = None
        remuxed = False
        if path is not None:
            room = error is None or (reason == "disk-low" and has_room(path, stats.bytes))
            if finalize and room and not fast:
                for file in (path, audio_output):
                    if file is None or not file.exists():
                        continue
                    checked, why = remux_checked(file, ffmpeg_path=self.ffmpeg.path)
                    if why is None:
                        remuxed = True
                        media = checked if file == path else media
                    else:
                        notes.append(f"kept the fragmented {file.name}, which plays: remux failed: {why}")
            elif fast:
                notes.append("stopped fast: kept the fragmented file, which plays "
                             "(`caprec recover` or a single Ctrl-C next time gives a regular MP4)")
            if media is None:
                media = verify_media(path, ffmpeg_path=self.ffmpeg.path)
            if not media.playable and error is None:
                error = RecordingFailedError(f"{path} has no playable video frames{quoted}", ffmpeg_lines=lines)
        status = Status.of(error=error, fast=fast)
        ended = "duration" if returncode == 0 and not _ended_early(stats) else "ffmpeg-exit"
        stop_reason = {"ffmpeg-exit": ended}.get(reason, reason)
        if fast and reason == "user":
            stop_reason = "user-fast"
        return RecordingResult(status=status, stop_reason=stop_reason, path=path, argv=argv, stats=stats,
                               media=media, remuxed=remuxed, notes=notes, error=error, cursor=cursor,
                               ffmpeg_returncode=returncode)


def _reader_closed(error: OSError, pump: PipePump) -> bool:
    """The pump writes to a pipe (``-o -``) whose reader has gone: the end, not a failure."""
    return error.errno == errno.EPIPE and pump.writes_pipe


def _ffmpeg_died(returncode: int) -> str:
    """``ffmpeg was killed by SIGKILL`` or ``ffmpeg stopped with exit code 1``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"ffmpeg was killed by {name} during the recording"
    return f"ffmpeg stopped with exit code {returncode}"


def _ended_early(stats: RecordingStats) -> bool:
    """FFmpeg exited 0 on its own well before the --duration asked for (or without one)."""
    recorded = max(stats.progress.out_time_s, stats.elapsed_s)
    return stats.duration_s is None or recorded < stats.duration_s - EARLY_END_TOLERANCE_S


def _window_end(source: VideoSource | None) -> str | None:
    """Why a window recording ended by itself (closed, shrunk), None if not a window or the display is gone."""
    if source is None or source.window_id is None:
        return None
    return window_end_note(source.device, source.window_id)


def _early_end(lines: tuple[str, ...], stats: RecordingStats) -> str:
    """Why FFmpeg ended by itself, in the user's terms; what was recorded is kept."""
    quoted = f": {lines[-1]}" if lines else ""
    recorded = f"{stats.progress.out_time_s:.1f} s"
    text = " ".join(lines).lower()
    if any(marker in text for marker in DISPLAY_LOST_MARKERS):
        return (f"the X display went away during the recording; stopped after {recorded}, which is kept "
                f"({'; '.join(lines[-2:])})")
    return f"ffmpeg stopped on its own after {recorded}, before the end{quoted}"


def _startup_error(lines: tuple[str, ...], returncode: int, audio: Audio | None = None) -> CaptureError:
    """FFmpeg stopped before its first frame: say why, in the user's terms.

    The reason is FFmpeg's most specific line (``Cannot load libcuda.so.1``),
    not the generic one that follows it; a failure of the audio input (its
    device named at the start of the line) is blamed on the audio.
    """
    last = most_specific_line(lines) or f"ffmpeg exited with code {returncode} before the first frame"
    text = " ".join(lines).lower()
    if "cannot open display" in text or "can't open display" in text:
        return DisplayError(f"cannot open the X display ({last}); start X or set DISPLAY / `display`")
    inputs = audio.inputs if isinstance(audio, AudioMix) else (audio,) if audio is not None else ()
    for one in inputs:
        if one.backend is not AudioBackend.TEST and last.startswith(f"{one.device}:"):
            hint = (" (is a PulseAudio or PipeWire server running?)" if one.backend is AudioBackend.PULSE else "")
            return DeviceError(f"the audio input {one.backend}:{one.device} failed: {last}{hint}; "
                               "pick another audio device (see caprec devices) or record without audio",
                               ffmpeg_lines=lines)
    return DeviceError(f"the capture device failed: {last}", ffmpeg_lines=lines)
