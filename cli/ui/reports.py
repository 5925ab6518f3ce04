"""Machine-readable output: the JSON summary (``--json``, ``--summary-file``) and the stats file.

Both documents carry a ``schema`` field (``caprec-summary/1``,
``caprec-stats/1``); docs/json.md documents every field. Adding a field keeps
the version; renaming, removing or changing the meaning of one bumps it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caprec.boundary import describe
from caprec.capture.errors import CaptureError, SettingError
from caprec.capture.files.atomic import write_atomic
from caprec.capture.record.segment import RecordingResult, RecordingStats
from caprec.env import Environment
from caprec.exit import ExitStatus, exit_status_for
from caprec.streams import silence_stdout

SUMMARY_SCHEMA = "caprec-summary/1"
STATS_SCHEMA = "caprec-stats/1"
STATS_FILE_INTERVAL_S = 0.5
STDOUT_NAME = "-"
JSON_INDENT = 2
# Statuses beyond recorder.Status: nothing was recorded, or a batch never ran it.
STATUS_ERROR = "error"
STATUS_SKIPPED = "skipped"
STATUS_CANCELLED = "cancelled"  # stopped during its delay, before it started
# Live states of the stats file before its final status.
STATUS_STARTING = "starting"
STATUS_RECORDING = "recording"
STATUS_PAUSED = "paused"
STATUS_STALLED = "stalled"  # recording, but FFmpeg delivered no new frame for a while

JsonObject = dict[str, Any]


def _cursor_counts(cursor: Any, *, live: bool) -> JsonObject | None:
    """The cursor log's counters, or None without a cursor log."""
    if cursor is None:
        return None
    counts: JsonObject = {
        "events": cursor.events, "moves": cursor.moves, "clicks": cursor.clicks, "scrolls": cursor.scrolls,
        "dropped": cursor.dropped,
    }
    if live:
        counts.update(flushes_written=cursor.flushes_written, flushes_skipped=cursor.flushes_skipped)
    return counts


def _bitrate_kbps(size: int, duration: float) -> float | None:
    """The file's average bitrate (what it costs on disk), not the encoder's estimate."""
    return round(size * 8 / duration / 1000, 1) if duration > 0 and size > 0 else None


def final_size(result: RecordingResult) -> int:
    """The size of what was left: the file after its remux, else the bytes written (stdout)."""
    if result.path is not None:
        with contextlib.suppress(OSError):
            return result.path.stat().st_size
    return result.stats.bytes


def result_summary(result: RecordingResult, *, exit_code: int, cursor_log: Path | None,
                   to_stdout: bool = False) -> JsonObject:
    """The ``caprec-summary/1`` object of a recording that ran (complete, interrupted or failed)."""
    stats = result.stats
    media = result.media
    size = final_size(result)
    duration = media.duration_s if media is not None else stats.progress.out_time_s
    frames = media.frames if media is not None else stats.progress.frame
    video = STDOUT_NAME if to_stdout else (str(result.path.absolute()) if result.path is not None else None)
    has_cursor = result.cursor is not None and cursor_log is not None and cursor_log.exists()
    return {
        "schema": SUMMARY_SCHEMA,
        "status": str(result.status),
        "exit_code": int(exit_code),
        "error": describe(result.error) if result.error is not None else None,
        "stop_reason": result.stop_reason,
        "outputs": {"video": video, "cursor_log": str(cursor_log.absolute()) if has_cursor and cursor_log else None},
        "duration_s": round(duration, 3),
        "frames": frames,
        "target_fps": stats.target_fps,
        "dropped_frames": stats.progress.drop_frames,
        "duplicated_frames": stats.progress.dup_frames,
        "stalls": stats.stalls,
        "stalled_s": round(stats.stall_total_s, 3),
        "size_bytes": size,
        "bitrate_kbps": _bitrate_kbps(size, duration),
        "cursor": _cursor_counts(result.cursor, live=False),
        "verified": media is not None and media.playable,
        "remuxed": result.remuxed,
        "warnings": stats.warnings,
        "notes": list(result.notes),
    }


def empty_summary(*, status: str, exit_code: int | None, error: str | None) -> JsonObject:
    """The ``caprec-summary/1`` object of a recording that never ran (an error first, or skipped)."""
    return {
        "schema": SUMMARY_SCHEMA,
        "status": status,
        "exit_code": exit_code,
        "error": error,
        "stop_reason": None,
        "outputs": {"video": None, "cursor_log": None},
        "duration_s": 0.0,
        "frames": 0,
        "target_fps": None,
        "dropped_frames": 0,
        "duplicated_frames": 0,
        "stalls": 0,
        "stalled_s": 0.0,
        "size_bytes": 0,
        "bitrate_kbps": None,
        "cursor": None,
        "verified": False,
        "remuxed": False,
        "warnings": 0,
        "notes": [],
    }


def error_summary(error: CaptureError) -> JsonObject:
    """The summary when ``error`` stopped the command before anything was recorded."""
    return empty_summary(status=STATUS_ERROR, exit_code=int(exit_status_for(error)), error=describe(error))


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=JSON_INDENT, ensure_ascii=False) + "\n"


def write_json_atomic(path: Path, data: Any, *, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` as JSON so a reader never sees half a file.

    ``durable`` also fsyncs, which only the last write is worth paying for.
    Raises OSError; the temporary file never outlives a failure.
    """
    write_atomic(path, dump_json(data).encode("utf-8"), durable=durable)


def check_report_path(path: Path, *, origin: str, video: Path | None) -> None:
    """Refuse a summary or stats file that cannot be written, before anything starts."""
    if path.is_dir():
        raise SettingError(origin, f"{path} is a directory; give a file name such as {path / 'caprec.json'}")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise SettingError(origin, f"directory {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SettingError(origin, f"directory {parent} is not writable; choose another path")
    if video is not None and path.absolute() == video.absolute():
        raise SettingError(origin, f"{path} is the video output; choose another file")


class Reports:
    """Where a recording's JSON goes: ``--json`` (stdout), ``--summary-file``, ``--stats-file``.

    With ``-o -`` stdout carries the video, so the summary goes only to the
    summary file.
    """

    def __init__(self, *, env: Environment, json_stdout: bool = False, summary_file: Path | None = None,
                 stats_file: Path | None = None, output: str | None = None) -> None:
        self._env = env
        self.json_stdout = json_stdout
        self.summary_file = summary_file
        self.stats_file = stats_file
        # Until the plan is resolved, the flag is the best guess.
        self.to_stdout = output == STDOUT_NAME
        self._video = None if output in (None, STDOUT_NAME) else Path(output)
        # False once these options were refused: then no summary is written anywhere.
        self._usable = True

    @property
    def wanted(self) -> bool:
        """Whether a summary is to be written anywhere."""
        return self.json_stdout or self.summary_file is not None

    def check(self, *, to_stdout: bool, video: Path | None) -> None:
        """Refuse impossible combinations before anything starts (a SettingError: exit 2)."""
        try:
            self._check(to_stdout=to_stdout, video=video)
        except SettingError:
            self._usable = False
            raise
        self.to_stdout = to_stdout

    def _check(self, *, to_stdout: bool, video: Path | None) -> None:
        if self.json_stdout and to_stdout and self.summary_file is None:
            raise SettingError("--json", "the video goes to stdout (-o -); write the summary to a file with "
                                         "--summary-file PATH instead")
        for origin, path in (("--summary-file", self.summary_file), ("--stats-file", self.stats_file)):
            if path is not None:
                check_report_path(path, origin=origin, video=video)
        if (self.summary_file is not None and self.stats_file is not None
                and self.summary_file.absolute() == self.stats_file.absolute()):
            raise SettingError("--summary-file", f"{self.summary_file} is also the --stats-file; use two files")

    def emit(self, data: JsonObject | list[JsonObject]) -> None:
        """Write the summary where it was asked for; on stdout only when the video is not there."""
        if self.summary_file is not None:
            write_json_atomic(self.summary_file, data, durable=True)
        if self.json_stdout and not self.to_stdout:
            try:
                self._env.stdout.write(dump_json(data))
                self._env.stdout.flush()
            except OSError as exc:  # stdout closed (>&-), or its reader gone (| true)
                silence_stdout(self._env.stdout_fd)
                with contextlib.suppress(OSError, ValueError):
                    self._env.stderr.write(f"caprec: the JSON summary could not be written to stdout "
                                           f"({exc.strerror or exc}); use --summary-file PATH to keep it\n")
                    self._env.stderr.flush()

    def guard(self, body: Callable[[], int]) -> Callable[[], int]:
        """``body``, emitting an ``error`` summary when it raises before anything was recorded."""
        def guarded() -> int:
            # The options as given first, before any work; the body checks again with the resolved output.
            self.check(to_stdout=self.to_stdout, video=self._video)
            try:
                return body()
            except CaptureError as exc:
                if self.wanted and self._usable:
                    with contextlib.suppress(OSError):  # the error itself is what the user must see
                        self.emit(error_summary(exc))
                raise

        return guarded


class StatsFileWriter:
    """Keeps a small ``caprec-stats/1`` JSON file current during a recording.

    It has the shape of a display (``update``, ``warn``, a context manager)
    so that it rides on the recorder's ``on_stats`` callback. Writes are
    throttled to one per :data:`STATS_FILE_INTERVAL_S` and replace the file
    atomically; the last write (:meth:`finish` or :meth:`fail`) carries the
    final status. A write error is reported once through ``on_error`` and
    never stops the recording.
    """

    def __init__(self, path: Path, *, video: str | None, on_error: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 interval: float = STATS_FILE_INTERVAL_S) -> None:
        self.path = path
        self._video = video
        self._on_error = on_error
        self._clock = clock
        self._wall_clock = wall_clock
        self._interval = interval
        self._next = 0.0
        self._reported = False
        self.writes = 0

    def __enter__(self) -> StatsFileWriter:
        self._write(self._document(None, status=STATUS_STARTING))
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, stats: RecordingStats) -> None:
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self._interval
        status = STATUS_STARTING if not stats.started else (
            STATUS_PAUSED if stats.paused else STATUS_STALLED if stats.stalled_s > 0 else STATUS_RECORDING)
        self._write(self._document(stats, status=status))

    def warn(self, text: str) -> None:
        return None  # the stats carry the warning count and the last one

    def finish(self, result: RecordingResult, *, exit_code: int) -> None:
        """The last write: how the recording ended."""
        document = self._document(result.stats, status=str(result.status), final=True)
        document.update(exit_code=int(exit_code), error=describe(result.error) if result.error else None,
                        cursor=_cursor_counts(result.cursor, live=True) or document["cursor"])
        document.update(size_bytes=final_size(result))
        if result.media is not None:
            document.update(frames=result.media.frames)
        self._write(document, durable=True)

    def fail(self, error: CaptureError, stats: RecordingStats | None = None) -> None:
        """The last write when nothing was recorded."""
        document = self._document(stats, status=STATUS_ERROR, final=True)
        document.update(exit_code=int(exit_status_for(error)), error=describe(error))
        self._write(document, durable=True)

    def _document(self, stats: RecordingStats | None, *, status: str, final: bool = False) -> JsonObject:
        progress = stats.progress if stats is not None else None
        return {
            "schema": STATS_SCHEMA,
            "status": status,
            "final": final,
            "updated_at": round(self._wall_clock(), 3),
            "pid": os.getpid(),
            "output": self._video,
            "elapsed_s": round(stats.elapsed_s, 3) if stats is not None else 0.0,
            "duration_s": stats.duration_s if stats is not None else None,
            "frames": progress.frame if progress is not None else 0,
            "fps": progress.fps if progress is not None else None,
            "target_fps": stats.target_fps if stats is not None else None,
            "dropped_frames": progress.drop_frames if progress is not None else 0,
            "duplicated_frames": progress.dup_frames if progress is not None else 0,
            "bitrate_kbps": progress.bitrate_kbps if progress is not None else None,
            "speed": progress.speed if progress is not None else None,
            "size_bytes": stats.bytes if stats is not None else 0,
            "pipe_size": stats.pipe_size if stats is not None else None,
            "pipe_high_water": stats.pipe_high_water if stats is not None else 0,
            "warnings": stats.warnings if stats is not None else 0,
            "last_warning": stats.last_warning if stats is not None else None,
            "cursor": _cursor_counts(stats.cursor, live=True) if stats is not None else None,
            "paused": stats.paused if stats is not None else None,
            "stalled_s": round(stats.stalled_s, 3) if stats is not None else 0.0,
            "stall_total_s": round(stats.stall_total_s, 3) if stats is not None else 0.0,
            "exit_code": None,
            "error": None,
        }

    def _write(self, document: JsonObject, *, durable: bool = False) -> None:
        try:
            write_json_atomic(self.path, document, durable=durable)
        except OSError as exc:
            if not self._reported and self._on_error is not None:
                self._on_error(f"cannot write the stats file {self.path}: {exc.strerror or exc}")
            self._reported = True
        else:
            self.writes += 1


def summary_exit_code(summaries: list[JsonObject]) -> int:
    """A batch's exit code: 130 if stopped, else the first failure's code, else 0."""
    codes = [summary["exit_code"] for summary in summaries if summary["exit_code"]]
    if ExitStatus.INTERRUPTED in codes:
        return int(ExitStatus.INTERRUPTED)
    return int(codes[0]) if codes else int(ExitStatus.OK)


__all__ = ["STATS_SCHEMA", "SUMMARY_SCHEMA", "Reports", "StatsFileWriter", "empty_summary",
           "error_summary", "result_summary", "summary_exit_code", "write_json_atomic"]
