"""Soak: a 60-minute recording, simulated faster than real time, with a 1 kHz cursor stream.

The engine records FFmpeg's test pattern unpaced (``VideoSource(LAVFI,
realtime=False)``: no ``-re``, so an hour of video takes a minute or two)
through the real :class:`caprec.capture.record.segment.Recorder`: FFmpeg, the pipe, the
pump, the stderr reader, the disk watch, the remux and the read-back at the
end. Beside it, a feeder thread pushes synthetic pointer events into a real
:class:`caprec.capture.cursor.writer.CursorWriter` at ``--rate`` events per second of
*video* time (1 kHz: 3.6 million events for the hour), paced by FFmpeg's
``out_time`` as ``on_stats`` reports it; the writer's clock is the video's
timeline, so every event lands at its video time.

This process's RSS, open file descriptors (/proc/self/fd) and thread count,
and FFmpeg's RSS, are sampled at the start, every ``--sample`` seconds of
wall time and at the end: flat figures mean nothing grows with the
recording's length. At the end the output's duration is read back with
ffprobe (correct: the hour) and the cursor log's lines are counted (correct:
duration x rate events).

Usage: python benchmarks/soak.py [--duration 3600] [--rate 1000] [--size 320x240] [--preset ultrafast]
                                 [--sample 10] [--dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

# Run from a checkout without installing: the repository root holds `capture`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from _common import ffmpeg_version, load_average, machine_facts
from caprec.capture import __version__
from caprec.capture.cursor.format import CursorContext, Region
from caprec.capture.cursor.writer import CursorStats, CursorWriter
from caprec.capture.ffmpeg.argv import Backend, Encoding, VideoSource
from caprec.capture.ffmpeg.binary import find_ffmpeg
from caprec.capture.record.segment import Recorder, RecordingStats, StopControl, Target
from caprec.capture.units import format_bytes, format_duration

DEFAULT_DURATION_S = 3600.0
DEFAULT_RATE_HZ = 1000.0
DEFAULT_SIZE = "320x240"
DEFAULT_PRESET = "ultrafast"
DEFAULT_FPS = 30.0
DEFAULT_SAMPLE_S = 10.0
# The feeder waits at most this long for FFmpeg's next progress report.
FEED_WAIT_S = 0.05
# Events pushed between checks of the pace (one lock round trip each anyway).
FEED_CHUNK = 2000
CURSOR_FLUSH_S = 0.25
CLICK_EVERY = 97
SCROLL_EVERY = 53
FFPROBE_TIMEOUT_S = 300.0
MIB = 1024 * 1024


def self_fds() -> int:
    return psutil.Process().num_fds()


def rss_mib(pid: int) -> float | None:
    try:
        return psutil.Process(pid).memory_info().rss / (1024 * 1024)
    except psutil.NoSuchProcess:
        return None


@dataclass
class Sample:
    """One look at the recording and at this process."""

    wall_s: float
    video_s: float
    speed: float | None
    rss_mib: float | None
    fds: int
    threads: int
    ffmpeg_rss_mib: float | None
    events_written: int
    pending: int
    bytes: int


class VideoTimeline:
    """A clock for the cursor writer that reads the feeder's current video time (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CursorFeeder:
    """A real CursorWriter fed ``rate`` events per second of video time; the recorder's sidecar.

    The recorder calls :meth:`set_origin` at the first frame and :meth:`stats`
    for its snapshots; ``on_stats`` moves :attr:`target_s` to FFmpeg's
    ``out_time``, and the feeder thread catches up with it.
    """

    def __init__(self, path: Path, *, rate: float, size: tuple[int, int], fps: float) -> None:
        width, height = size
        self.rate = rate
        self.size = size
        self.timeline = VideoTimeline()
        context = CursorContext(caprec_version=__version__, source=str(Backend.LAVFI),
                                region=Region(x=0, y=0, width=width, height=height),
                                screen_width=width, screen_height=height, fps=fps)
        self.writer = CursorWriter(path, context, flush_interval=CURSOR_FLUSH_S, clock=self.timeline)
        self.target_s = 0.0
        self.pushed = 0
        self._origin = threading.Event()
        self._progress = threading.Event()
        self._done = threading.Event()
        self._final_s: float | None = None
        self._thread = threading.Thread(target=self._run, name="soak-cursor-feeder", daemon=True)

    # -- the recorder's sidecar protocol -------------------------------------------------
    def set_origin(self, *, monotonic: float, wall: float) -> None:
        # t = 0 is video time 0, whatever the recorder's monotonic origin.
        self.writer.set_origin(monotonic=0.0, wall=wall)
        self._origin.set()

    def stats(self) -> CursorStats:
        return self.writer.stats()

    # -- pacing ----------------------------------------------------------------------------
    def advance(self, video_s: float) -> None:
        """FFmpeg has encoded up to ``video_s``: events up to there may go in."""
        if video_s > self.target_s:
            self.target_s = video_s
            self._progress.set()

    def start(self) -> None:
        self.writer.start()
        self._thread.start()

    def finish(self, video_s: float, timeout: float) -> CursorStats:
        """Push the events up to ``video_s`` (the video's end), then stop the writer."""
        self._final_s = video_s
        self._progress.set()
        self._done.set()
        self._thread.join(timeout)
        return self.writer.stop()

    def _run(self) -> None:
        self._origin.wait()
        width, height = self.size
        writer = self.writer
        timeline = self.timeline
        step = 1.0 / self.rate
        index = 0
        while True:
            limit = self._final_s if self._final_s is not None else self.target_s
            end = int(limit * self.rate)
            while index < end:
                for i in range(index, min(end, index + FEED_CHUNK)):
                    timeline.now = i * step
                    x, y = i % width, (i * 7) % height
                    if i % CLICK_EVERY == 0:
                        writer.on_click(x, y, "left", (i // CLICK_EVERY) % 2 == 0)
                    elif i % SCROLL_EVERY == 0:
                        writer.on_scroll(x, y, 0, -1)
                    else:
                        writer.on_move(x, y)
                index = min(end, index + FEED_CHUNK)
                self.pushed = index
            if self._final_s is not None:
                return
            self._progress.wait(FEED_WAIT_S)
            self._progress.clear()


@dataclass
class Sampler:
    """Called by the recorder with live stats; keeps a sample every ``every`` seconds of wall time."""

    feeder: CursorFeeder
    every: float
    started: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    ffmpeg_pid: int | None = None
    ffmpeg_peak_mib: float = 0.0
    _next: float = 0.0
    last: RecordingStats | None = None

    def __call__(self, stats: RecordingStats) -> None:
        self.last = stats
        self.feeder.advance(stats.progress.out_time_s)
        if self.ffmpeg_pid is None:
            kids = [child.pid for child in psutil.Process().children()]
            self.ffmpeg_pid = min(kids) if kids else None
        ffmpeg_rss = rss_mib(self.ffmpeg_pid) if self.ffmpeg_pid is not None else None
        if ffmpeg_rss is not None:
            self.ffmpeg_peak_mib = max(self.ffmpeg_peak_mib, ffmpeg_rss)
        now = time.monotonic()
        if now >= self._next:
            self.take(stats, ffmpeg_rss)
            self._next = now + self.every

    def take(self, stats: RecordingStats | None, ffmpeg_rss: float | None) -> None:
        cursor = self.feeder.writer.stats()
        progress = stats.progress if stats is not None else None
        self.samples.append(Sample(
            wall_s=time.monotonic() - self.started,
            video_s=progress.out_time_s if progress is not None else 0.0,
            speed=progress.speed if progress is not None else None,
            rss_mib=rss_mib(os.getpid()), fds=self_fds(), threads=threading.active_count(),
            ffmpeg_rss_mib=ffmpeg_rss, events_written=cursor.events, pending=cursor.pending,
            bytes=stats.bytes if stats is not None else 0))


def ffprobe_duration(path: Path) -> tuple[float | None, int | None]:
    """The file's duration and its video packet count (no decode: an hour of video in seconds)."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None, None
    result = subprocess.run([ffprobe, "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
                             "stream=nb_read_packets:format=duration", "-of", "default=nw=1", str(path)],
                            capture_output=True, text=True, timeout=FFPROBE_TIMEOUT_S, check=False)
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    duration = values.get("duration")
    packets = values.get("nb_read_packets")
    return (float(duration) if duration not in (None, "N/A") else None,
            int(packets) if packets and packets.isdigit() else None)


def count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            lines += chunk.count(b"\n")
    return lines


def cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(samples: list[Sample]) -> None:
    header = ("wall s", "video", "speed", "RSS MiB", "fds", "threads", "ffmpeg RSS MiB", "cursor events",
              "pending", "written")
    rows = [(f"{s.wall_s:.1f}", format_duration(s.video_s), cell(s.speed, ".1f") + ("x" if s.speed else ""),
             cell(s.rss_mib, ".1f"), str(s.fds), str(s.threads), cell(s.ffmpeg_rss_mib, ".1f"),
             f"{s.events_written:,}", f"{s.pending:,}", format_bytes(s.bytes)) for s in samples]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def spread(values: list[float]) -> str:
    return f"{min(values):.1f} .. {max(values):.1f} (first {values[0]:.1f}, last {values[-1]:.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, help="seconds of video (3600)")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE_HZ, help="cursor events per video second")
    parser.add_argument("--size", default=DEFAULT_SIZE, help="test pattern size (320x240)")
    parser.add_argument("--preset", default=DEFAULT_PRESET, help="x264 preset (ultrafast)")
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS)
    parser.add_argument("--sample", type=float, default=DEFAULT_SAMPLE_S, help="seconds of wall time between samples")
    parser.add_argument("--dir", type=Path, default=None, help="where the files go (a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the video and the cursor log")
    args = parser.parse_args(argv)

    binary = find_ffmpeg()
    width, height = (int(part) for part in args.size.split("x"))
    workdir = Path(tempfile.mkdtemp(prefix="caprec-soak-", dir=args.dir))
    video = workdir / "soak.mp4"
    log = workdir / "soak.cursor.ndjson"
    source = VideoSource(backend=Backend.LAVFI, fps=args.fps, device=args.size, realtime=False)
    encoding = Encoding(preset=args.preset, duration=args.duration)
    recorder = Recorder(binary)
    print(f"caprec soak: {format_duration(args.duration)} of {args.size}@{args.fps:g} {args.preset}, "
          f"cursor {args.rate:g} Hz of video time ({int(args.duration * args.rate):,} events)")
    print(f"ffmpeg: {binary.path} ({ffmpeg_version(binary.path)})")
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine_facts().items()) + f"; load {load_average()}")
    print(f"argv: {' '.join(recorder.argv(source, encoding))}")
    print(f"files: {workdir}")
    print()

    feeder = CursorFeeder(log, rate=args.rate, size=(width, height), fps=args.fps)
    sampler = Sampler(feeder=feeder, every=args.sample)
    sampler.take(None, None)  # before anything starts
    feeder.start()
    began = time.monotonic()
    final_s = 0.0
    try:
        result = recorder.record(source, encoding, Target(path=video), stop=StopControl(), on_stats=sampler,
                                 sidecar=feeder)
        # The events belong to the video that was recorded: up to its read-back duration.
        final_s = result.media.duration_s if result.media is not None else result.stats.progress.out_time_s
    finally:
        cursor = feeder.finish(final_s, timeout=FFPROBE_TIMEOUT_S)
    took = time.monotonic() - began
    sampler.take(result.stats, None)  # the end: ffmpeg gone, the writer stopped
    duration, packets = ffprobe_duration(video)
    lines = count_lines(log) - 1  # the header

    print_table(sampler.samples)
    print()
    rss = [s.rss_mib for s in sampler.samples if s.rss_mib is not None]
    ffmpeg_rss = [s.ffmpeg_rss_mib for s in sampler.samples if s.ffmpeg_rss_mib is not None]
    fds = [s.fds for s in sampler.samples]
    threads = [s.threads for s in sampler.samples]
    mid = sampler.samples[1:-1] or sampler.samples
    print(f"status: {result.status} ({result.stop_reason}); error: {result.error}; notes: {result.notes or '-'}")
    print(f"wall time: {took:.1f} s for {format_duration(args.duration)} of video "
          f"({args.duration / took:.0f}x real time)")
    print(f"caprec RSS MiB: {spread(rss)}; during the recording {min(s.rss_mib or 0 for s in mid):.1f} .. "
          f"{max(s.rss_mib or 0 for s in mid):.1f}")
    print(f"caprec open fds: {min(fds)} .. {max(fds)} (first {fds[0]}, during {mid[0].fds} .. {mid[-1].fds}, "
          f"last {fds[-1]})")
    print(f"caprec threads: {min(threads)} .. {max(threads)} (first {threads[0]}, last {threads[-1]})")
    if ffmpeg_rss:
        print(f"ffmpeg RSS MiB: {spread(ffmpeg_rss)}; peak {sampler.ffmpeg_peak_mib:.1f}")
    print(f"video: {format_bytes(video.stat().st_size)}, ffprobe duration "
          f"{cell(duration, '.3f')} s (expected {args.duration:.3f}), {packets} video packets "
          f"(expected {int(args.duration * args.fps)}), remuxed {result.remuxed}")
    print(f"cursor log: {format_bytes(log.stat().st_size)}, {lines:,} event lines; writer: {cursor.events:,} "
          f"written, {cursor.dropped:,} dropped, {cursor.flushes_written:,} flushes written / "
          f"{cursor.flushes_skipped:,} skipped, {cursor.write_errors} write errors (expected "
          f"{int(final_s * args.rate):,} events)")
    if args.keep:
        print(f"kept: {workdir}")
    else:
        shutil.rmtree(workdir)
    return 0 if result.error is None else 1


if __name__ == "__main__":
    sys.exit(main())
