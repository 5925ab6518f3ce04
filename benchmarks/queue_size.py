"""FFmpeg's ``-thread_queue_size`` (caprec's ``--queue-size``) and the x264 preset: memory, CPU, lost frames.

Every command is the one ``caprec record --dry-run`` prints (x11grab of an
Xvfb display this script starts, 1280x720), with caprec's ``pipe:1``
replaced by a file, run directly with a silent stdin pipe as caprec gives it.
For each run: FFmpeg's peak RSS (VmHWM, polled in /proc, and ``wait4``'s
``ru_maxrss``), its CPU (``wait4``), its wall time (longer than the
recording means it drained a backlog after capture ended), FFmpeg's own
``drop_frames``/``dup_frames`` (``-progress``), and the frames ffprobe counts
in the file against fps x seconds.

1. **Keeps up**: caprec's defaults (libx264 veryfast, zerolatency, crf 23) at
   30 fps, the screen animated by ``_common.py animate`` (scrolling text,
   rectangles, a moving pointer). Queue: FFmpeg's own default (no option), 96
   (instant), 240 (studio).
2. **Falls behind**: ``ffplay -fs`` playing ``testsrc2`` full screen on the
   display (busy content, and ffplay and Xvfb compete for the CPU) with
   ``--preset slow``: the encoder cannot keep up. Same three queues.
3. **Presets**: ultrafast, veryfast without ``-tune zerolatency``,
   veryfast + zerolatency (the default), medium (+ zerolatency, as caprec
   runs it), medium without zerolatency; queue 96, the animated screen.

Each part runs with every FFmpeg given (default: the one on PATH and
imageio-ffmpeg's). Linux only; needs Xvfb, ffplay (part 2), ffprobe and
python-xlib. A full run takes about 5 minutes (FFmpeg 5.x drains its backlog
after part 2's recordings end, which can double their wall time).

    python benchmarks/queue_size.py [--seconds 15] [--behind-seconds 8] [--preset-seconds 6] [--ffmpeg PATH ...]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as common
from caprec.capture.ffmpeg.binary import FFmpegBinary, probe_version

REPO_ROOT = Path(__file__).resolve().parent.parent
SIZE = "1280x720"
WIDTH, HEIGHT = 1280, 720
X11GRAB_BYTES_PER_PIXEL = 4  # bgr0
RAW_FRAME_BYTES = WIDTH * HEIGHT * X11GRAB_BYTES_PER_PIXEL
FPS = 30
QUEUES: tuple[int | None, ...] = (None, 96, 240)  # None: no -thread_queue_size, FFmpeg's default
PRESET_QUEUE = 96
BEHIND_PRESET = "slow"
FFPLAY_WARMUP_S = 2.0
BLOCKING_WARNING = re.compile(r"thread message queue blocking|thread_queue_size", re.IGNORECASE)
MB = 1024 * 1024  # MiB: figures are in MiB


@dataclass(frozen=True)
class Variant:
    """One run: which FFmpeg, which queue, which preset, and whether zerolatency stays."""

    ffmpeg: FFmpegBinary
    queue: int | None
    preset: str
    zerolatency: bool = True

    @property
    def label(self) -> str:
        tune = "" if self.zerolatency else " (no zerolatency)"
        return f"{self.preset}{tune}"


@dataclass(frozen=True)
class Result:
    variant: Variant
    argv: list[str]
    seconds: float
    wall_s: float
    cpu_s: float
    hwm_mb: float  # MiB
    maxrss_mb: float  # MiB
    frames: int | None
    dup: int | None
    drop: int | None
    speed: str
    warnings: int
    other_cpu_s: float | None
    returncode: int

    @property
    def expected(self) -> int:
        return round(self.seconds * FPS)

    @property
    def unique(self) -> int | None:
        """Frames grabbed from the screen that are in the file (duplicates, made to hold the rate, excluded)."""
        if self.frames is None:
            return None
        # FFmpeg 5.x also counts duplicates it made past -t, so dup can exceed the file's frames.
        return max(0, self.frames - (self.dup or 0))


def caprec_argv(variant: Variant, *, display: str, seconds: float, output: Path, workdir: Path) -> list[str]:
    """The FFmpeg argv ``caprec record --dry-run`` prints for ``variant``, writing ``output`` directly.

    No queue: the ``-thread_queue_size`` options are taken out (FFmpeg's
    defaults). No zerolatency: ``-tune zerolatency`` is taken out.
    """
    args = [sys.executable, "-m", "caprec", "record", "--dry-run", "--display", display, "--ffmpeg",
            variant.ffmpeg.path, "--fps", str(FPS), "-d", f"{seconds:g}", "--preset", variant.preset,
            "--no-cursor", "--queue-size", str(variant.queue or PRESET_QUEUE), "-o", str(output)]
    env = {key: value for key, value in os.environ.items() if not key.startswith("CAPREC_")}
    env.update(DISPLAY=display, CAPREC_CONFIG=str(workdir / "no-config.toml"),
               **common.source_env(REPO_ROOT))
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=workdir, timeout=60, check=False)
    if done.returncode != 0:
        raise SystemExit(f"caprec --dry-run failed: {done.stderr.strip()}")
    argv = shlex.split(done.stdout, comments=True)
    if argv.count("pipe:1") != 1:
        raise SystemExit(f"expected one pipe:1 in {argv}")
    argv[argv.index("pipe:1")] = str(output)
    if variant.queue is None:
        while "-thread_queue_size" in argv:
            at = argv.index("-thread_queue_size")
            del argv[at:at + 2]
    if not variant.zerolatency:
        at = argv.index("-tune")
        del argv[at:at + 2]
    return argv


def measure(variant: Variant, *, display: str, seconds: float, workdir: Path, tag: str) -> Result:
    output = workdir / f"{tag}.mp4"
    argv = caprec_argv(variant, display=display, seconds=seconds, output=output, workdir=workdir)
    log = workdir / f"{tag}.log"
    with log.open("wb") as handle:
        run = common.run_measured(argv, stderr=handle, timeout=seconds * 10 + 60)
    text = log.read_text(errors="replace")
    progress = common.last_progress(text)
    count = common.count_frames(output) if output.exists() else common.FrameCount(None, None, "no file")
    other = None if run.machine_busy_s is None else max(0.0, run.machine_busy_s - run.cpu_s)
    result = Result(
        variant=variant, argv=argv, seconds=seconds, wall_s=run.wall_s, cpu_s=run.cpu_s,
        hwm_mb=run.root.hwm_kb / 1024, maxrss_mb=run.maxrss_kb / 1024, frames=count.frames,
        dup=_int(progress.get("dup_frames")), drop=_int(progress.get("drop_frames")),
        speed=progress.get("speed", "n/a"), other_cpu_s=other,
        warnings=sum(1 for line in text.splitlines() if BLOCKING_WARNING.search(line)),
        returncode=run.returncode,
    )
    output.unlink(missing_ok=True)
    return result


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


def _n(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def print_table(title: str, results: list[Result], *, first: str) -> None:
    header = [first, "peak RSS MiB", "ru_maxrss MiB", "CPU s", "wall s", "speed", "file frames", "expected",
              "dup", "drop", "unique", "lost", "queue warnings", "other CPU s"]
    rows = []
    for r in results:
        lost = None if r.unique is None else r.expected - r.unique
        key = r.variant.label if first == "preset" else ("none (FFmpeg default)" if r.variant.queue is None
                                                         else str(r.variant.queue))
        rows.append([f"{key}", f"{r.hwm_mb:.0f}", f"{r.maxrss_mb:.0f}", f"{r.cpu_s:.1f}", f"{r.wall_s:.1f}",
                     r.speed, _n(r.frames), str(r.expected), _n(r.dup), _n(r.drop), _n(r.unique),
                     _n(lost), str(r.warnings),
                     "n/a" if r.other_cpu_s is None else f"{r.other_cpu_s:.1f}"])
        if r.returncode != 0:
            rows[-1][0] += f" (exit {r.returncode})"
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    line = "  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(header))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))


def describe_queue_effect(results: list[Result]) -> None:
    """One line per FFmpeg: what 240 costs and buys against 96."""
    by_queue = {r.variant.queue: r for r in results}
    small, large = by_queue.get(96), by_queue.get(240)
    if small is None or large is None:
        return
    print(f"  240 vs 96: peak RSS {large.hwm_mb - small.hwm_mb:+.0f} MiB, wall {large.wall_s - small.wall_s:+.1f} s, "
          f"unique frames {_n(large.unique)} vs {_n(small.unique)} of {small.expected}; a raw {SIZE} frame is "
          f"{RAW_FRAME_BYTES / MB:.1f} MiB, so a full queue of 96 holds {96 * RAW_FRAME_BYTES / MB:.0f} MiB, "
          f"of 240 {240 * RAW_FRAME_BYTES / MB:.0f} MiB")


@contextlib.contextmanager
def ffplay_fullscreen(display: str) -> Iterator[subprocess.Popen[bytes]]:
    """``testsrc2`` playing full screen on ``display``: busy content for the encoder, load for the machine."""
    ffplay = shutil.which("ffplay")
    if ffplay is None:
        raise SystemExit("ffplay is missing (Debian: apt-get install ffmpeg)")
    proc = subprocess.Popen([ffplay, "-loglevel", "error", "-fs", "-an", "-f", "lavfi",
                             f"testsrc2=size={SIZE}:rate={FPS}"],
                            env={**os.environ, "DISPLAY": display}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + FFPLAY_WARMUP_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise SystemExit(f"ffplay exited: {err.strip()[-500:]}")
            time.sleep(0.1)
        yield proc
    finally:
        common.end_process(proc)


def binaries(paths: Sequence[str]) -> list[FFmpegBinary]:
    found = []
    for path in paths:
        version = probe_version(path)
        if version is None:
            print(f"skipping {path}: not a working ffmpeg")
            continue
        found.append(FFmpegBinary(path=path, version=version, origin="benchmark"))
    return found


def default_ffmpegs() -> list[str]:
    paths = [shutil.which("ffmpeg")]
    with contextlib.suppress(ImportError, RuntimeError):
        import imageio_ffmpeg

        paths.append(str(imageio_ffmpeg.get_ffmpeg_exe()))
    return [p for p in paths if p]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=15.0, help="part 1 recording length (15)")
    parser.add_argument("--behind-seconds", type=float, default=8.0, help="part 2 recording length (8)")
    parser.add_argument("--preset-seconds", type=float, default=6.0, help="part 3 recording length (6)")
    parser.add_argument("--ffmpeg", action="append", default=None,
                        help="an ffmpeg to run (repeatable; default: PATH's and imageio-ffmpeg's)")
    parser.add_argument("--skip", action="append", default=[], choices=("keeps-up", "behind", "presets"),
                        help="skip a part (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the logs (prints where)")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        raise SystemExit("this benchmark needs Linux (x11grab, /proc)")
    ffmpegs = binaries(args.ffmpeg or default_ffmpegs())
    if not ffmpegs:
        raise SystemExit("no working ffmpeg")
    started = time.monotonic()
    print("command:", common.quote([sys.executable, *sys.argv]))
    for binary in ffmpegs:
        print(f"ffmpeg : {binary.path}: {common.ffmpeg_version(binary.path)} (major {binary.major})")
    print("machine:", ", ".join(f"{k} {v}" for k, v in common.machine_facts().items()))
    print("load average before:", common.load_average())
    workdir = Path(tempfile.mkdtemp(prefix="caprec-queue-"))
    try:
        with common.xvfb(size=SIZE) as xserver:
            display = xserver.display
            print(f"Xvfb {display} at {SIZE}; x11grab at {FPS} fps; one raw frame {RAW_FRAME_BYTES / MB:.2f} MiB")

            def run_all(part: str, variants: list[Variant], seconds: float, *,
                        preset: str = "veryfast") -> dict[str, list[Result]]:
                """Run ``variants``; print caprec's own command (queue 96, ``preset``, zerolatency) once per FFmpeg."""
                results: dict[str, list[Result]] = {}
                for n, variant in enumerate(variants):
                    result = measure(variant, display=display, seconds=seconds, workdir=workdir,
                                     tag=f"{part}-{n}")
                    results.setdefault(variant.ffmpeg.path, []).append(result)
                    if variant.queue == PRESET_QUEUE and variant.preset == preset and variant.zerolatency:
                        print(f"  [{part}] {common.quote(result.argv)}")
                return results

            if "keeps-up" not in args.skip:
                print(f"\n== 1. the encoder keeps up: caprec defaults, animated screen, {args.seconds:g} s ==")
                with common.animator(display):
                    parts = run_all("keeps-up", [Variant(b, q, "veryfast") for b in ffmpegs for q in QUEUES],
                                    args.seconds)
                for binary in ffmpegs:
                    print_table(f"queue size, {binary.path} ({binary.version})", parts[binary.path], first="queue")
                    describe_queue_effect(parts[binary.path])
            if "behind" not in args.skip:
                print(f"\n== 2. the encoder falls behind: ffplay -fs testsrc2 on the display, --preset "
                      f"{BEHIND_PRESET}, {args.behind_seconds:g} s ==")
                with ffplay_fullscreen(display):
                    parts = run_all("behind", [Variant(b, q, BEHIND_PRESET) for b in ffmpegs for q in QUEUES],
                                    args.behind_seconds, preset=BEHIND_PRESET)
                for binary in ffmpegs:
                    print_table(f"queue size, {binary.path} ({binary.version})", parts[binary.path], first="queue")
                    describe_queue_effect(parts[binary.path])
            if "presets" not in args.skip:
                print(f"\n== 3. x264 preset: queue {PRESET_QUEUE}, animated screen, {args.preset_seconds:g} s ==")
                presets = [("ultrafast", True), ("veryfast", False), ("veryfast", True), ("medium", True),
                           ("medium", False)]
                with common.animator(display):
                    parts = run_all("presets", [Variant(b, PRESET_QUEUE, p, z) for b in ffmpegs for p, z in presets],
                                    args.preset_seconds)
                for binary in ffmpegs:
                    print_table(f"preset, {binary.path} ({binary.version})", parts[binary.path], first="preset")
    finally:
        if args.keep:
            print(f"\nlogs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\nThe commands shown are caprec's (queue 96); the other runs of a part differ only in "
          "-thread_queue_size (taken out for 'none'), -preset and -tune.")
    print("peak RSS: VmHWM of the ffmpeg process (polled every 50 ms); ru_maxrss: wait4's. CPU: user+sys "
          "(wait4). wall > seconds: ffmpeg drained a backlog after the capture ended. file frames: ffprobe "
          "-count_frames; unique = file frames - dup, at least 0 (frames grabbed from the screen); lost = expected - "
          "unique. "
          "queue warnings: FFmpeg's 'thread message queue blocking' lines. other CPU: what the rest of the "
          "machine used meanwhile (Xvfb, the animator or ffplay, anything else running).")
    print(f"total benchmark time {time.monotonic() - started:.0f} s; load average after: {common.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
