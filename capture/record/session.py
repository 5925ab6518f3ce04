"""A recording session: one or more segments (pause/resume), instant or studio.

Each pause ends a segment (FFmpeg finishes its file) and each resume starts
the next one, so paused time is in no file. In **instant** mode the first
segment is recorded straight into the output and later ones into
``<stem>.part-N.mp4`` beside it; at the end they are joined by stream copy
into the output. In **studio** mode the output is a bundle directory::

    talk.caprec/
      recording.toml            manifest: status, segments, stats
      cursor.ndjson             one log on the recording's timeline
      segments/1/display.mp4    pointer hidden (the cursor log has it)
      segments/1/audio.m4a      with one audio input; with several, one file each:
      segments/1/audio-mic.m4a  (named by the input, see caprec.capture.studio.tracks)
      segments/1/camera.mp4     with a camera
      segments/2/...

The manifest says ``recording`` from the first moment, so whatever kills
caprec, ``caprec recover`` knows what to finish. The cursor log pauses with
the video, and its times are on the joined timeline.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from caprec.capture.cursor.format import CursorUnavailableError
from caprec.capture.cursor.listener import CursorSidecar
from caprec.capture.cursor.shapes import ShapeSidecar
from caprec.capture.cursor.writer import CursorStats, CursorWriter
from caprec.capture.errors import CaptureError, OutputError, WriteError
from caprec.capture.ffmpeg.argv import TrackFiles
from caprec.capture.ffmpeg.finish import MediaCheck, join_checked, remux_checked, verify_media
from caprec.capture.files.diskspace import check_start
from caprec.capture.files.lock import hold_lock
from caprec.capture.record.segment import Recorder, RecordingResult, RecordingStats, Status, StopControl, Target
from caprec.capture.record.session_stats import Warnings, kbps, offset_stats, summed_progress
from caprec.capture.record.spec import CURSOR_NAME, MANIFEST_NAME, CursorRecorder, segment_files

# The session's public spec types, importable from here too (see docs/library.md).
from caprec.capture.record.spec import CursorSpec as CursorSpec
from caprec.capture.record.spec import Mode as Mode
from caprec.capture.record.spec import SessionSpec as SessionSpec
from caprec.capture.record.spec import part_path as part_path
from caprec.capture.studio.bundle_manifest import SegmentInfo, bundle_document
from caprec.capture.studio.manifest import utc_now, write_manifest
from caprec.capture.studio.tracks import SegmentLayout

# While paused the display still gets a snapshot this often.
PAUSED_TICK_S = 0.25


def segment_length(result: RecordingResult, frames: int, fps: float) -> float:
    """How long a segment is on the recording's timeline: its last frame's time plus that frame's duration.

    The recorded video is constant frame rate (FFmpeg duplicates or drops
    frames to keep it), so that is ``frames / fps``; the last packet's time
    alone is one frame short per segment, which drifted the cursor log a
    frame per pause.
    """
    if frames > 0 and fps > 0:
        return frames / fps
    return result.media.duration_s if result.media is not None else result.stats.progress.out_time_s


def cursor_recorder(spec: CursorSpec, warn: Callable[[str], None]) -> CursorRecorder:
    """The engine's cursor sidecar for ``spec``: a pynput listener feeding a log writer (the session's default).

    A write error (a full disk) is reported once through ``warn``; the
    recording goes on and the events wait for the next flush. In a studio
    recording on X11 (``spec.shapes_dir``), the pointer's images are kept too.
    """
    if spec.overwrite:
        # Replace the directory entry (a symlink is removed, never followed); without
        # overwrite a log that appeared since planning is refused by the writer.
        spec.path.unlink(missing_ok=True)
    if spec.display is not None and os.environ.get("DISPLAY") != spec.display:
        # pynput's X listener opens $DISPLAY and takes no display argument. The process environment
        # belongs to the application (the caprec command sets it), not to the engine.
        raise CursorUnavailableError(f"the cursor log of display {spec.display} needs DISPLAY={spec.display} in "
                                     "this process's environment (pynput's X listener opens $DISPLAY)")

    def write_failed(exc: OSError) -> None:
        warn(f"cursor log {spec.path}: {exc.strerror or exc}; events are kept and written when it works again")

    sidecar = CursorSidecar(CursorWriter(spec.path, spec.context, flush_interval=spec.flush_interval,
                                         on_error=write_failed))
    if spec.shapes_dir is None:
        return sidecar
    return ShapeSidecar(sidecar, spec.shapes_dir, display=spec.display, warn=warn)


class Session:
    """Runs one recording of any number of segments with one :class:`Recorder`.

    A :class:`SessionSpec` with ``cursor`` gets a cursor log: ``cursor_factory``
    (default :func:`cursor_recorder`) makes the sidecar for the :class:`CursorSpec`
    and a function that reports its write errors (tests hand in fakes); the
    session owns it: start, pause, resume, stop.
    """

    def __init__(self, recorder: Recorder, *,
                 cursor_factory: Callable[[CursorSpec, Callable[[str], None]], CursorRecorder] = cursor_recorder,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._recorder = recorder
        self._cursor_factory = cursor_factory
        self._clock = clock

    def run(self, spec: SessionSpec, *, stop: StopControl | None = None,
            on_stats: Callable[[RecordingStats], None] | None = None,
            on_warning: Callable[[str], None] | None = None) -> RecordingResult:
        """Record until the duration, a stop, or a failure; pause and resume on ``stop``'s toggles.

        Raises :class:`CaptureError` when nothing was recorded; otherwise
        the result covers every segment, and its ``error`` says what failed.
        """
        stop = stop or StopControl()
        counted = Warnings(on_warning)
        warn = counted.warn
        on_stats = counted.stats_hook(on_stats)
        studio = spec.mode is Mode.STUDIO
        if spec.output is not None:
            if (low := check_start(spec.output)) is not None:
                warn(low)
            if studio:
                _create_bundle(spec.output)
        notes: list[str] = []
        # Locks on the bundle and on every segment file, held until the end,
        # paused or not: `caprec recover` refuses while they are held.
        with contextlib.ExitStack() as locks:
            if studio and spec.output is not None:
                _hold(locks, spec.output)
            starter = self._start_cursor(spec, notes, warn)
            cursor = None if starter is None else starter.cursor
            run = _Run(spec=spec, started=utc_now(), locks=locks)
            if studio:
                self._write_manifest(run, status="recording")
            try:
                self._segments(spec, run, cursor, stop, on_stats, warn,
                               on_started=None if starter is None else starter.start)
            except CaptureError:
                if studio:
                    with contextlib.suppress(OSError):
                        self._write_manifest(run, status="failed", error="nothing was recorded")
                raise
            finally:
                started = None if starter is None else starter.join()
                run.cursor_stats = started.stop() if started is not None else None
            result = self._finish(run, notes, fast=stop.fast)
        return replace(result, stats=counted.apply(result.stats))

    # -- the parts of run() ---------------------------------------------------

    def _start_cursor(self, spec: SessionSpec, notes: list[str],
                      warn: Callable[[str], None]) -> _CursorStarter | None:
        if spec.cursor is None:
            return None
        return _CursorStarter(self._cursor_factory(spec.cursor, warn), notes, warn)

    def _segments(self, spec: SessionSpec, run: _Run, cursor: CursorRecorder | None, stop: StopControl,
                  on_stats: Callable[[RecordingStats], None] | None, warn: Callable[[str], None], *,
                  on_started: Callable[[], None] | None = None) -> None:
        wanted = spec.encoding.duration
        while True:
            index = len(run.results) + 1
            remaining = None if wanted is None else wanted - run.recorded_s
            if remaining is not None and remaining <= 0:
                return
            video, layout = self._files(spec, index)
            tracks = None if layout is None else layout.tracks
            if index > 1 and cursor is not None:
                cursor.resume(offset_ms=run.recorded_s * 1000.0)
            run.current = SegmentInfo(index, video, () if layout is None else layout.audio_named(), run.recorded_s,
                                      0.0, 0, "recording", None if tracks is None else tracks.camera)
            if spec.mode is Mode.STUDIO:
                self._write_manifest(run, status="recording")
            try:
                result = self._recorder.record(
                    spec.source, replace(spec.encoding, duration=remaining),
                    Target(path=video, fd=spec.fd if video is None else None,
                           overwrite=spec.overwrite and index == 1),
                    stop=stop, on_stats=offset_stats(on_stats, run.results, run.recorded_s, index, wanted),
                    on_warning=warn,
                    sidecar=cursor, audio=spec.audio, tracks=tracks,
                    output_queue_size=spec.queue_size,
                    # Instant mode rewrites a lone first segment at once (the rewrite is its
                    # read-back); segments that will be joined are rewritten by the join.
                    finalize=spec.mode is Mode.STUDIO or index == 1,
                    finalize_on_pause=spec.mode is Mode.STUDIO,
                    on_pause=None if cursor is None else cursor.pause,
                    on_started=on_started,
                )
            except CaptureError as exc:
                if index == 1:
                    raise
                # A later segment would not start: keep what was recorded.
                run.late_error = exc
                return
            frames = result.media.frames if result.media is not None else result.stats.progress.frame
            if index > 1 and result.stop_reason == "user" and frames == 0:
                # The stop came between a resume and that segment's first frame: nothing was recorded in it,
                # and the recording is the segments before it (not a failure of a file that holds nothing).
                _discard_empty_segment(result.path if result.path is not None else video, tracks)
                run.current = None
                return
            duration = segment_length(result, frames, spec.source.fps)
            run.results.append(result)
            if result.path is not None:
                _hold(run.locks, result.path)
            written = () if layout is None else tuple((name, f) for name, f in layout.audio_named() if f.exists())
            camera = None if tracks is None or tracks.camera is None or not tracks.camera.exists() else tracks.camera
            run.segments.append(SegmentInfo(index, result.path, written, run.recorded_s, duration, frames,
                                            str(result.status), camera))
            run.current = None
            run.recorded_s += duration
            if result.stop_reason != "pause" or result.error is not None:
                return
            stop.take_toggle()
            if not self._paused(run, stop, on_stats, wanted, index):
                return

    def _paused(self, run: _Run, stop: StopControl, on_stats: Callable[[RecordingStats], None] | None,
                wanted: float | None, index: int) -> bool:
        """Wait while paused; True to resume, False when a stop came first."""
        if run.spec.mode is Mode.STUDIO:
            self._write_manifest(run, status="recording")
        last = run.results[-1].stats
        # Totals over every segment so far, not the last segment's (its size, its bitrate).
        total_bytes = sum(r.stats.bytes for r in run.results)
        progress = replace(summed_progress(run.results, run.recorded_s), bitrate_kbps=kbps(total_bytes, run.recorded_s))
        while True:
            if on_stats is not None:
                on_stats(replace(last, paused=True, segment=index, elapsed_s=run.recorded_s, duration_s=wanted,
                                 bytes=total_bytes, progress=progress, stalled_s=0.0))
            if stop.wait(PAUSED_TICK_S):
                if stop.requested:
                    return False
                if stop.take_toggle():
                    return True

    def _files(self, spec: SessionSpec, index: int) -> tuple[Path | None, SegmentLayout | None]:
        """Segment ``index``'s video file and (studio) the files of its other tracks."""
        if spec.output is None:
            return None, None
        video, layout = segment_files(spec.mode, spec.output, index, audio=spec.audio,
                                      camera=spec.source.camera is not None)
        if spec.mode is Mode.STUDIO:
            video.parent.mkdir(parents=True, exist_ok=False)
        return video, layout

    def _finish(self, run: _Run, notes: list[str], *, fast: bool) -> RecordingResult:
        spec = run.spec
        results = run.results
        last = results[-1]
        error = next((r.error for r in results if r.error is not None), None) or run.late_error
        for result in results:
            notes.extend(note for note in result.notes if note not in notes)
        path: Path | None = last.path
        media: MediaCheck | None = last.media
        remuxed = any(r.remuxed for r in results)
        ffmpeg_path = self._recorder.ffmpeg.path
        if spec.mode is Mode.INSTANT and spec.output is not None and results[0].path is not None:
            path = spec.output
            parts = [s.video for s in run.segments if s.video is not None and s.frames > 0]
            # A lone segment was rewritten or read back by the recorder: that is the output's check.
            media = last.media if len(results) == 1 else None
            if fast:
                if len(parts) > 1:
                    notes.append(f"stopped fast: the segments are kept as {', '.join(p.name for p in parts)}; "
                                 f"`caprec recover {spec.output}` joins them")
            elif len(parts) > 1:
                media, why = join_checked(parts, spec.output, ffmpeg_path=ffmpeg_path)
                if why is None:
                    for part in parts[1:]:
                        part.unlink()
                    remuxed = True
                else:
                    # Not a success: the output holds only the first segment.
                    names = ", ".join(str(p) for p in parts)
                    error = error or WriteError(f"joining the segments failed ({why}); the recording is kept "
                                                f"in {len(parts)} files: {names}; `caprec recover {spec.output}` "
                                                "tries again")
                    notes.append(f"kept the segments apart: joining failed: {why}")
            elif last.stop_reason in ("pause", "user", "duration") and error is None and not last.remuxed:
                media, why = remux_checked(spec.output, ffmpeg_path=ffmpeg_path)
                remuxed = why is None
                if why is not None:
                    notes.append(f"kept the fragmented file, which plays: remux failed: {why}")
            if media is None:
                media = verify_media(spec.output, ffmpeg_path=ffmpeg_path)
        elif spec.mode is Mode.STUDIO and spec.output is not None:
            path = spec.output
            media = MediaCheck(frames=sum(s.frames for s in run.segments),
                               duration_s=sum(s.duration_s for s in run.segments),
                               codec=next((r.media.codec for r in results if r.media is not None), None))
        status = Status.of(error=error, fast=fast)
        total_bytes = (sum(r.stats.bytes for r in results) if spec.mode is Mode.STUDIO or path is None
                       else _size(path))
        stats = replace(last.stats, bytes=total_bytes, elapsed_s=run.recorded_s, paused=False,
                        segment=len(results), progress=summed_progress(run.results, run.recorded_s),
                        duration_s=spec.encoding.duration, cursor=run.cursor_stats, stalled_s=0.0,
                        stall_total_s=sum(r.stats.stall_total_s for r in results),
                        stalls=sum(r.stats.stalls for r in results))
        stop_reason = "user" if last.stop_reason == "pause" else last.stop_reason
        result = RecordingResult(status=status, stop_reason=stop_reason, path=path, argv=last.argv, stats=stats,
                                 media=media, remuxed=remuxed, notes=notes, error=error, cursor=run.cursor_stats,
                                 ffmpeg_returncode=last.ffmpeg_returncode, segments=tuple(run.segments))
        if spec.mode is Mode.STUDIO:
            self._write_manifest(run, status=str(status), error=None if error is None else str(error),
                                 result=result)
        return result

    def _write_manifest(self, run: _Run, *, status: str, error: str | None = None,
                        result: RecordingResult | None = None) -> None:
        spec = run.spec
        assert spec.output is not None
        segments = [*run.segments, *(() if run.current is None else (run.current,))]
        write_manifest(spec.output / MANIFEST_NAME, bundle_document(
            spec.output, status=status, created=run.started, mode=str(spec.mode), source=spec.source,
            codec=spec.encoding.codec, audio=spec.audio, cursor=CURSOR_NAME if spec.cursor is not None else None,
            segments=segments, error=error, result=result))


class _CursorStarter:
    """Starts the cursor sidecar on a thread it owns, beside FFmpeg's start.

    The listener takes 0.1-0.3 s to import pynput, connect to the display
    and report ready: FFmpeg need not wait for it. The thread starts once
    FFmpeg has been spawned (:meth:`start`): started before, its imports
    held the interpreter while the recording's argv was built and FFmpeg
    launched. Events before it is ready are not logged; its origin (the
    first frame) may be set before or after it is. The session joins it
    (:meth:`join`) before pausing, resuming or stopping it.
    """

    def __init__(self, cursor: CursorRecorder, notes: list[str], warn: Callable[[str], None]) -> None:
        self.cursor = cursor
        self._notes = notes
        self._warn = warn
        self._ok = False
        self._thread = threading.Thread(target=self._start, name="caprec-cursor-start", daemon=True)

    def start(self) -> None:
        """Start the sidecar beside FFmpeg (once; later calls do nothing)."""
        if self._thread.ident is None:
            self._thread.start()

    def _start(self) -> None:
        try:
            self.cursor.start()
        except CaptureError as exc:
            # A missing cursor log must not cost the user the video.
            self._notes.append(f"recorded without the cursor log: {exc}")
            self._warn(self._notes[-1])
            return
        self._ok = True

    def join(self) -> CursorRecorder | None:
        """Wait for the start to end; the started sidecar, or None when it could not start (or never did)."""
        if self._thread.ident is None:
            return None  # FFmpeg never started: neither did the sidecar
        self._thread.join()
        return self.cursor if self._ok else None


@dataclass
class _Run:
    """The mutable state of one session."""

    spec: SessionSpec
    started: str
    results: list[RecordingResult] = field(default_factory=list)
    segments: list[SegmentInfo] = field(default_factory=list)
    current: SegmentInfo | None = None
    recorded_s: float = 0.0
    late_error: CaptureError | None = None
    cursor_stats: CursorStats | None = None
    locks: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


def _discard_empty_segment(video: Path | None, tracks: TrackFiles | None) -> None:
    """Remove the files of a segment that holds no frame (and its studio directory once empty)."""
    files = [*(() if video is None else (video,)), *(() if tracks is None else tracks.paths)]
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if video is not None and video.parent.name.isdigit():  # studio: segments/N/ held only these files
        with contextlib.suppress(OSError):
            video.parent.rmdir()


def _hold(locks: contextlib.ExitStack, path: Path) -> None:
    """Lock ``path`` until ``locks`` closes (a file that cannot be opened is not locked)."""
    with contextlib.suppress(OSError):
        locks.enter_context(hold_lock(path))


def _create_bundle(path: Path) -> None:
    """Create the bundle directory; refuse one that exists (never mix two recordings)."""
    try:
        path.mkdir()
    except FileExistsError:
        raise OutputError(f"{path} already exists; choose another `output` for the studio bundle") from None
    except OSError as exc:
        raise OutputError(f"cannot create {path} ({exc.strerror}); choose another `output`") from None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


