"""How a segment ended, in the user's terms, and the file it left: remuxed and read back, or kept as it is.

:func:`finish_segment` runs once FFmpeg, the pump and the reader have stopped: it names the error (a full
disk, FFmpeg killed, an X display gone, a stalled device), finishes the file (the remux that is also its
read-back) and builds the :class:`RecordingResult`.
"""

from __future__ import annotations

import errno
import signal
from typing import Any

from caprec.capture.errors import (
    CaptureError,
    DeviceError,
    DiskFullError,
    DisplayError,
    NoFirstFrameError,
    RecordingFailedError,
    WriteError,
)
from caprec.capture.ffmpeg.argv import Audio, AudioBackend, AudioMix, TrackFiles, VideoSource
from caprec.capture.ffmpeg.encoders import most_specific_line
from caprec.capture.ffmpeg.finish import MediaCheck, moved_output, remux_checked, verify_media
from caprec.capture.ffmpeg.progress import StderrReader
from caprec.capture.files.diskspace import DiskSpaceError, DiskWatch, has_room
from caprec.capture.platform.x11info import window_end_note
from caprec.capture.record.pump import PipePump, PumpSink, Sink, is_disk_full
from caprec.capture.record.results import RecordingResult, RecordingStats, Status, Target
from caprec.capture.units import format_bytes

ERROR_LINES = 3
# FFmpeg exiting 0 this long before the --duration is an early end, not the end.
EARLY_END_TOLERANCE_S = 1.0
# What x11grab logs when the X server goes away under it.
DISPLAY_LOST_MARKERS = ("xcb", "external library", "connection closed", "broken pipe")


def finish_segment(*, ffmpeg_path: str, first_frame_timeout: float, reason: str, returncode: int,
                   argv: list[str], target: Target, sink: PumpSink, pump_error: OSError | None,
                   reader: StderrReader, stats: RecordingStats, cursor: Any, fast: bool, finalize: bool,
                   disk: DiskWatch | None, audio: Audio | None, tracks: TrackFiles | None,
                   no_frame_hint: str = "", source: VideoSource | None = None) -> RecordingResult:
    """The result of a segment whose FFmpeg, pump and reader have stopped, its file finished.

    ``reason`` is why the watch loop ended (``user``, ``ffmpeg-exit``, ``disk-low``...). Raises a
    :class:`CaptureError` when nothing was recorded (no first frame, FFmpeg failed at start-up); otherwise
    the result's ``error`` says what went wrong, with every file kept.
    """
    lines = reader.last_lines(ERROR_LINES)
    reason_line = most_specific_line(lines)
    quoted = f": {reason_line}" if reason_line else ""
    path = target.path if sink.created else None
    error: CaptureError | None = None
    notes: list[str] = []
    if reason == "reader-closed":
        # `| head -c N`, `| ffprobe -`: the reader took what it wanted, as with any Unix tool.
        notes.append(f"the reader of stdout closed it after {format_bytes(stats.bytes)}; stopped there")
    elif pump_error is not None:
        saved = format_bytes(stats.bytes)
        if is_disk_full(pump_error):
            error = DiskFullError(f"the disk is full; stopped after saving {saved} to {target.path or 'stdout'}")
        else:
            error = WriteError(f"writing {target.path or 'stdout'} failed ({pump_error.strerror}); "
                               f"{saved} saved")
    elif reason == "no-first-frame":
        raise NoFirstFrameError(
            f"ffmpeg produced no frame within {first_frame_timeout:g} s{quoted}; {no_frame_hint}",
            ffmpeg_lines=lines)
    elif not sink.created and stats.bytes == 0:
        raise startup_error(reader.last_lines(ERROR_LINES + 2), returncode, audio)
    elif reason == "ffmpeg-exit" and returncode != 0:
        error = RecordingFailedError(f"{ffmpeg_died(returncode)}{quoted}", ffmpeg_lines=lines)
    elif reason == "ffmpeg-exit" and ended_early(stats) and (ended_window := window_end(source)) is not None:
        # x11grab ends a window's recording when the window closes or shrinks: its natural end.
        notes.append(ended_window)
    elif reason == "ffmpeg-exit" and ended_early(stats):
        # Exit 0 before the end: x11grab ends its input "cleanly" when the X server goes away.
        error = RecordingFailedError(early_end(lines, stats), ffmpeg_lines=lines)
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
            for file in (path, *(() if tracks is None else tracks.paths)):
                if not file.exists():
                    continue
                checked, why = remux_checked(file, ffmpeg_path=ffmpeg_path)
                if why is None:
                    remuxed = True
                    media = checked if file == path else media
                else:
                    notes.append(f"kept the fragmented {file.name}, which plays: remux failed: {why}")
        elif fast:
            notes.append("stopped fast: kept the fragmented file, which plays "
                         "(`caprec recover` or a single Ctrl-C next time gives a regular MP4)")
        if media is None:
            media = verify_media(path, ffmpeg_path=ffmpeg_path)
        if not media.playable and error is None:
            error = RecordingFailedError(f"{path} has no playable video frames{quoted}", ffmpeg_lines=lines)
    status = Status.of(error=error, fast=fast)
    ended = "duration" if returncode == 0 and not ended_early(stats) else "ffmpeg-exit"
    stop_reason = {"ffmpeg-exit": ended}.get(reason, reason)
    if fast and reason == "user":
        stop_reason = "user-fast"
    return RecordingResult(status=status, stop_reason=stop_reason, path=path, argv=argv, stats=stats,
                           media=media, remuxed=remuxed, notes=notes, error=error, cursor=cursor,
                           ffmpeg_returncode=returncode)


def reader_closed(error: OSError, pump: PipePump) -> bool:
    """The pump writes to a pipe (``-o -``) whose reader has gone: the end, not a failure."""
    return error.errno == errno.EPIPE and pump.writes_pipe


def ffmpeg_died(returncode: int) -> str:
    """``ffmpeg was killed by SIGKILL`` or ``ffmpeg stopped with exit code 1``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"ffmpeg was killed by {name} during the recording"
    return f"ffmpeg stopped with exit code {returncode}"


def ended_early(stats: RecordingStats) -> bool:
    """FFmpeg exited 0 on its own well before the --duration asked for (or without one)."""
    recorded = max(stats.progress.out_time_s, stats.elapsed_s)
    return stats.duration_s is None or recorded < stats.duration_s - EARLY_END_TOLERANCE_S


def window_end(source: VideoSource | None) -> str | None:
    """Why a window recording ended by itself (closed, shrunk), None if not a window or the display is gone."""
    if source is None or source.window_id is None:
        return None
    return window_end_note(source.device, source.window_id)


def early_end(lines: tuple[str, ...], stats: RecordingStats) -> str:
    """Why FFmpeg ended by itself, in the user's terms; what was recorded is kept."""
    quoted = f": {lines[-1]}" if lines else ""
    recorded = f"{stats.progress.out_time_s:.1f} s"
    text = " ".join(lines).lower()
    if any(marker in text for marker in DISPLAY_LOST_MARKERS):
        return (f"the X display went away during the recording; stopped after {recorded}, which is kept "
                f"({'; '.join(lines[-2:])})")
    return f"ffmpeg stopped on its own after {recorded}, before the end{quoted}"


def startup_error(lines: tuple[str, ...], returncode: int, audio: Audio | None = None) -> CaptureError:
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
