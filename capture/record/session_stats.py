"""A session's figures over all its segments: warnings counted once, FFmpeg's counters summed, a later
segment's live stats shown on the whole recording's clock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from caprec.capture.ffmpeg.progress import FFmpegProgress
from caprec.capture.record.segment import RecordingResult, RecordingStats


class Warnings:
    """Counts every warning the session reports (FFmpeg's, over all segments, and its own).

    Live stats and the result carry this count, so a display, the summary
    and the JSON all count the same warnings.
    """

    def __init__(self, report: Callable[[str], None] | None) -> None:
        self._report = report
        self._lock = threading.Lock()  # FFmpeg's stderr reader and the cursor starter report from their threads
        self.count = 0
        self.last: str | None = None

    def warn(self, text: str) -> None:
        with self._lock:
            self.count += 1
            self.last = text
        if self._report is not None:
            self._report(text)

    def apply(self, stats: RecordingStats) -> RecordingStats:
        return replace(stats, warnings=self.count, last_warning=self.last)

    def stats_hook(self, on_stats: Callable[[RecordingStats], None] | None
                   ) -> Callable[[RecordingStats], None] | None:
        if on_stats is None:
            return None
        report = on_stats
        return lambda stats: report(self.apply(stats))


def summed_progress(results: Sequence[RecordingResult], recorded_s: float) -> FFmpegProgress:
    """FFmpeg's counters added up over the finished segments' ``results`` (``recorded_s`` long in all)."""
    done = [r.stats.progress for r in results]
    if not done:
        return FFmpegProgress()
    return replace(done[-1], frame=sum(p.frame for p in done), drop_frames=sum(p.drop_frames for p in done),
                   dup_frames=sum(p.dup_frames for p in done), out_time_s=recorded_s)


def kbps(size: int, seconds: float) -> float | None:
    """The bitrate of ``size`` bytes over ``seconds``, in kb/s; None for no time."""
    return size * 8 / seconds / 1000 if seconds > 0 else None


def offset_stats(on_stats: Callable[[RecordingStats], None] | None, results: Sequence[RecordingResult],
                 recorded_s: float, index: int, wanted: float | None) -> Callable[[RecordingStats], None] | None:
    """Show a later segment's stats on the whole recording's clock and counters."""
    if on_stats is None or index == 1:
        return on_stats
    before = summed_progress(results, recorded_s)
    offset = recorded_s
    earlier_bytes = sum(r.stats.bytes for r in results)
    earlier_stalls = sum(r.stats.stalls for r in results)
    earlier_stall_s = sum(r.stats.stall_total_s for r in results)

    def shifted(stats: RecordingStats) -> None:
        progress = stats.progress
        total_bytes = earlier_bytes + stats.bytes
        bitrate = kbps(total_bytes, offset + progress.out_time_s) if progress.out_time_s else None
        on_stats(replace(stats, elapsed_s=offset + stats.elapsed_s, duration_s=wanted, segment=index,
                         bytes=total_bytes, stalls=earlier_stalls + stats.stalls,
                         stall_total_s=earlier_stall_s + stats.stall_total_s,
                         progress=replace(progress, frame=before.frame + progress.frame,
                                          drop_frames=before.drop_frames + progress.drop_frames,
                                          dup_frames=before.dup_frames + progress.dup_frames,
                                          bitrate_kbps=bitrate)))

    return shifted
