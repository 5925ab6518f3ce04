"""caprec's recording pipeline against plain FFmpeg, measured side by side in one run.

1. Screen capture: ``caprec record`` vs the very FFmpeg command caprec builds,
   run by hand writing straight to a file (the argv with ``pipe:1`` replaced
   by the file path). Same Xvfb display, same animated screen content, same
   length. Whole-tree CPU (``os.wait4``), wall time, frames (ffprobe
   ``-count_frames``), drops, peak RSS of caprec's Python process and of FFmpeg.
2. Throughput on a source faster than real time (lavfi, not paced, libx264
   ultrafast crf 0): caprec's engine (``Recorder``: FFmpeg -> pipe -> pump ->
   file) vs FFmpeg writing the same file itself, in MB/s.
3. The pump alone: bytes pushed through an ``os.pipe()`` into ``PipePump``,
   with the tuned 1 MiB pipe (caprec's default) vs the 64 KiB kernel default.

Linux only (x11grab, /proc, F_SETPIPE_SZ). Needs Xvfb, ffmpeg and ffprobe.

    python benchmarks/pipeline.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as common
from _common import MB, Measured, ProcTrack, count_frames, run_measured
from caprec.capture.ffmpeg.argv import Backend, Encoding, VideoSource
from caprec.capture.ffmpeg.binary import FFmpegBinary, find_ffmpeg
from caprec.capture.ffmpeg.process import ManagedProcess
from caprec.capture.platform.screen import resolve_x11_display
from caprec.capture.record.pump import DEFAULT_PIPE_BUFFER, F_GETPIPE_SZ, PipePump, Sink, tune_pipe
from caprec.capture.record.segment import Recorder, Target

KERNEL_PIPE_DEFAULT = 64 * 1024
# FFmpeg's avio buffer for file and pipe output is 32 KiB: it writes in those chunks.
FFMPEG_WRITE_CHUNK = 32 * 1024


# ------------------------------------------------------------------------ output


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    line = "  ".join(f"{h:<{widths[0]}}" if i == 0 else f"{h:>{widths[i]}}" for i, h in enumerate(header))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(f"{c:<{widths[0]}}" if i == 0 else f"{c:>{widths[i]}}" for i, c in enumerate(row)))


def f1(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.1f}{unit}"


def f2(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def mib(kb: int | None) -> str:
    return "n/a" if not kb else f"{kb / 1024:.1f}"


def caprec_command() -> list[str]:
    # This checkout (screen_env puts it first on PYTHONPATH: common.source_env), not whatever is installed.
    return [sys.executable, "-m", "caprec"]


# ----------------------------------------------------------- 1. screen capture


@dataclass
class ScreenRun:
    label: str
    kind: str  # "plain" or "caprec"
    measured: Measured
    path: Path
    ffmpeg: ProcTrack | None  # the recording FFmpeg as the sampler saw it
    progress: dict[str, str]
    workload_cpu_s: float  # animator + Xvfb during the run
    error: str | None = None
    frames: int | None = None
    ffmpeg_cpu_s: float | None = None
    ffmpeg_cpu_how: str = ""


def is_recording_ffmpeg(argv: list[str]) -> bool:
    return bool(argv) and Path(argv[0]).name.startswith("ffmpeg") and "x11grab" in argv


COLD_BYTECODE = False
# caprec starts its cursor listener after FFmpeg: the steady per-second cost is taken after this.
STEADY_AFTER_S = 2.0


def screen_env(xserver: common.XServer, workdir: Path, kind: str) -> dict[str, str]:
    """The environment of a screen run.

    DISPLAY is the recorded display, as for a user recording that screen
    (caprec's cursor log reads it). caprec runs with a warm bytecode cache
    of its own, as an installed caprec has: this environment may set
    PYTHONDONTWRITEBYTECODE, which with an editable install means every
    start compiles caprec's modules again (~0.1 s of CPU a user never pays).
    The --dry-run before the measured runs fills that cache.
    """
    env = {**os.environ, "DISPLAY": xserver.display}
    if kind == "caprec":
        env.update(common.source_env())
    if kind == "caprec" and not COLD_BYTECODE:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def run_screen(label: str, kind: str, argv: list[str], path: Path, xserver: common.XServer, workdir: Path,
               seed: int) -> ScreenRun:
    log = workdir / f"{label.replace(' ', '_')}.stderr"
    env = screen_env(xserver, workdir, kind)
    xvfb_before = common.read_stat(xserver.pid)
    with common.animator(xserver.display, seed=seed) as anim, open(log, "wb") as err:
        anim_before = common.read_stat(anim.pid)
        measured = run_measured(argv, stdout=err, stderr=err, env=env)
        anim_after = common.read_stat(anim.pid)
    xvfb_after = common.read_stat(xserver.pid)
    workload = 0.0
    for before, after in ((anim_before, anim_after), (xvfb_before, xvfb_after)):
        if before and after:
            workload += after.cpu_s - before.cpu_s
    text = log.read_text("utf-8", "replace")
    error = None
    if measured.returncode != 0 or not path.exists():
        lines = [line for line in text.strip().splitlines() if line.strip()]
        error = f"exit code {measured.returncode}: " + " | ".join(lines[-3:])[-600:]
    if kind == "plain":
        ffmpeg_track: ProcTrack | None = measured.root
    else:
        found = measured.sampler.find(is_recording_ffmpeg)
        ffmpeg_track = found[0] if found else None
    run = ScreenRun(label=label, kind=kind, measured=measured, path=path, ffmpeg=ffmpeg_track,
                    progress=common.last_progress(text) if kind == "plain" else {}, workload_cpu_s=workload,
                    error=error)
    run.ffmpeg_cpu_s, run.ffmpeg_cpu_how = recording_ffmpeg_cpu(run)
    return run


def recording_ffmpeg_cpu(run: ScreenRun) -> tuple[float | None, str]:
    """The recording FFmpeg's CPU seconds, and how they were obtained.

    plain: wait4 of FFmpeg itself. caprec: FFmpeg is caprec's child, so it
    is read from /proc: exact when the sampler caught it as a zombie, or as
    the jump of caprec's reaped-children CPU across its reaping (exact when
    the samples around it are close: nothing else is reaped within 0.1 s
    of it), else the last sample (a lower bound, at most one sampling
    interval short).
    """
    if run.kind == "plain":
        return run.measured.cpu_s, "wait4"
    track = run.ffmpeg
    if track is None:
        return None, "not seen"
    if track.exact:
        return track.cpu_s, "zombie"
    jump = run.measured.root.reaped_jump_after(track.last_seen)
    if jump is not None and jump[1] < 0.1 and jump[0] >= track.cpu_s - 0.011:
        return jump[0], "cutime jump"
    return track.cpu_s, "sampled"


def screen_benchmark(args: argparse.Namespace, binary: FFmpegBinary, workdir: Path) -> None:
    seconds = args.seconds
    expected = round(args.fps * seconds)
    with common.xvfb(args.size) as xserver:
        device = resolve_x11_display(xserver.display, {})
        source = VideoSource(backend=Backend.X11GRAB, fps=args.fps, device=device)
        encoding = Encoding(duration=seconds)  # caprec record's defaults: libx264 veryfast zerolatency crf 23
        built = Recorder(binary).argv(source, encoding)
        plain_path = workdir / "plain.mp4"

        def caprec_argv(path: Path, *extra: str) -> list[str]:
            return [*caprec_command(), "record", "--display", xserver.display, "-d", f"{seconds:g}",
                    "-o", str(path), "--quiet", *extra]

        # The argv caprec itself would run: its --dry-run (the CLI may add settings of its own, such as a
        # queue size, that a bare VideoSource/Encoding does not have). Recorder.argv is the fallback.
        dry_argv = [a for a in caprec_argv(workdir / "dry.mp4") if a != "--quiet"] + ["--dry-run"]
        dry = subprocess.run(dry_argv, capture_output=True, text=True, check=False,
                             env=screen_env(xserver, workdir, "caprec"))
        printed = _dry_run_argv(dry.stdout)
        pipe_argv = printed if printed is not None and printed.count("pipe:1") == 1 else built
        if pipe_argv.count("pipe:1") != 1:
            raise SystemExit(f"expected exactly one pipe:1 in {pipe_argv}")
        plain_argv = [str(plain_path) if a == "pipe:1" else a for a in pipe_argv]

        runs_planned: list[tuple[str, str, list[str], Path]] = [
            ("plain ffmpeg", "plain", plain_argv, plain_path),
            ("caprec record", "caprec", caprec_argv(workdir / "caprec.mp4"), workdir / "caprec.mp4"),
        ]
        if not args.no_cursor_variant:
            path = workdir / "caprec-nocursor.mp4"
            runs_planned.append(("caprec --no-cursor", "caprec", caprec_argv(path, "--no-cursor"), path))
        if args.order == "caprec-first":
            runs_planned = runs_planned[1:] + runs_planned[:1]

        print(f"\n== 1. screen capture: x11grab {args.size}@{args.fps:g} for {seconds:g} s on Xvfb "
              f"{xserver.display}, DISPLAY={xserver.display}, animated screen (seed {args.seed}) ==")
        for label, _, argv, _ in runs_planned:
            print(f"{label}: {common.quote(argv)}")
        if printed is None:
            print("plain ffmpeg's argv: Recorder(...).argv(VideoSource(X11GRAB, device=..., fps=...), "
                  "Encoding(duration=...)); caprec --dry-run printed no usable argv: "
                  + (dry.stdout.strip() or dry.stderr.strip())[-400:])
        elif printed == built:
            print("plain ffmpeg's argv: caprec --dry-run's, identical to Recorder(...).argv(VideoSource(X11GRAB, "
                  "device=..., fps=...), Encoding(duration=...)); pipe:1 replaced by the file")
        else:
            only_cli = [a for a in printed if a not in built]
            only_built = [a for a in built if a not in printed]
            print("plain ffmpeg's argv: caprec --dry-run's, with pipe:1 replaced by the file. It differs from "
                  f"Recorder(...).argv(VideoSource(X11GRAB, ...), Encoding(duration=...)): the CLI adds "
                  f"{only_cli or 'nothing'}, drops {only_built or 'nothing'}")
        print("caprec runs with " + ("the environment's bytecode settings (--cold-bytecode)" if COLD_BYTECODE else
              "PYTHONPYCACHEPREFIX=<tmp>/pycache, PYTHONDONTWRITEBYTECODE unset, cache warmed by the --dry-run "
              "(as an installed caprec has its .pyc)"))

        runs = [run_screen(label, kind, argv, path, xserver, workdir, seed=args.seed)
                for label, kind, argv, path in runs_planned]
    for run in runs:
        if run.path.exists():
            run.frames = count_frames(run.path).frames
    runs.sort(key=lambda r: r.kind != "plain")
    report_screen(runs, expected=expected, seconds=seconds)


def report_screen(runs: list[ScreenRun], *, expected: int, seconds: float) -> None:
    plain = runs[0]
    rows: list[list[str]] = []

    def row(name: str, values: Callable[[ScreenRun], str]) -> None:
        rows.append([name, *(values(r) if r.error is None else "failed" for r in runs)])

    def caprec_only(fn: Callable[[ScreenRun], str]) -> Callable[[ScreenRun], str]:
        return lambda r: "-" if r.kind == "plain" else fn(r)

    def ffmpeg_cpu(r: ScreenRun) -> float | None:
        return r.ffmpeg_cpu_s

    def helpers(r: ScreenRun) -> float | None:
        kids, rec = r.measured.zombie_children_cpu_s, ffmpeg_cpu(r)
        return None if kids is None or rec is None else kids - rec

    def python_phase(r: ScreenRun, phase: str) -> float | None:
        f, root = r.ffmpeg, r.measured.root
        if f is None:
            return None
        at_start, at_end = root.cpu_at(f.first_seen), root.cpu_at(f.last_seen)
        if phase == "before":
            return at_start
        if phase == "during":
            return at_end - at_start
        if phase == "steady":  # CPU per second while recording, leaving out its first STEADY_AFTER_S seconds
            begin = f.first_seen + STEADY_AFTER_S
            span = f.last_seen - begin
            return (at_end - root.cpu_at(begin)) / span if span > 1.0 else None
        total = r.measured.zombie_self_cpu_s
        return None if total is None else total - at_end

    row("wall time, start to exit (s)", lambda r: f2(r.measured.wall_s))
    row("CPU user+sys, whole tree, wait4 (s)", lambda r: f2(r.measured.cpu_s))
    row("  user / sys (s)", lambda r: f"{r.measured.user_s:.2f} / {r.measured.sys_s:.2f}")
    row("  recording ffmpeg (s)", lambda r: f2(ffmpeg_cpu(r)) + (
        "" if r.kind == "plain" else f" ({r.ffmpeg_cpu_how})"))
    row("  caprec python itself (s)", caprec_only(lambda r: f2(r.measured.zombie_self_cpu_s)))
    row("    before the recording ffmpeg started (s)", caprec_only(lambda r: f2(python_phase(r, "before"))))
    row("    while recording (s)", caprec_only(lambda r: f2(python_phase(r, "during"))))
    row("    after it exited (s)", caprec_only(lambda r: f2(python_phase(r, "after"))))
    row("  helper ffmpegs: -version -encoders remux verify (s)", caprec_only(lambda r: f2(helpers(r))))
    row("CPU ratio vs plain ffmpeg",
        lambda r: f"{r.measured.cpu_s / plain.measured.cpu_s:.3f}" if plain.error is None else "n/a")
    row("frames (ffprobe -count_frames)", lambda r: str(r.frames))
    row(f"dropped vs {expected} expected", lambda r: _drops(expected, r.frames))
    row("ffmpeg drop_frames / dup_frames (-progress)", lambda r: "n/a (--quiet)" if r.kind != "plain" else
        f"{r.progress.get('drop_frames', 'n/a')} / {r.progress.get('dup_frames', 'n/a')}")
    row("ffmpeg speed (-progress)", lambda r: r.progress.get("speed", "n/a (--quiet)"))
    row("file size (MB)", lambda r: common.mb(r.path.stat().st_size))
    row("peak RSS ffmpeg (MiB, VmHWM)", lambda r: mib(r.ffmpeg.hwm_kb if r.ffmpeg else None))
    row("peak RSS, wait4 ru_maxrss, max over tree (MiB)", lambda r: mib(r.measured.maxrss_kb))
    row("peak RSS caprec python (MiB, VmHWM)", caprec_only(lambda r: mib(r.measured.root.hwm_kb)))
    row("cursor log lines", caprec_only(lambda r: _cursor_lines(r.path)))
    row("screen workload CPU: animator + Xvfb (s)", lambda r: f2(r.workload_cpu_s))
    row("other CPU on the machine meanwhile (s)", lambda r: f2(
        None if r.measured.machine_busy_s is None
        else max(0.0, r.measured.machine_busy_s - r.measured.cpu_s - r.workload_cpu_s)))
    print_table(f"Screen capture, {seconds:g} s each (lower is better)", ["", *(r.label for r in runs)], rows)

    for r in runs:
        if r.error is not None:
            print(f"{r.label} FAILED: {r.error}")
            continue
        if r.kind == "plain":
            continue
        m, f = r.measured, r.ffmpeg
        if f is None:
            print(f"{r.label}: the sampler never saw the recording ffmpeg")
            continue
        span = f.last_seen - f.first_seen
        during = python_phase(r, "during") or 0.0
        steady = python_phase(r, "steady")
        steady_text = "" if steady is None else (
            f", {1000 * steady:.1f} ms CPU/s after its first {STEADY_AFTER_S:g} s (sidecar start-up excluded)")
        print(f"{r.label}: phases (wall) start-up {f.first_seen - m.started:.2f} s (imports, ffmpeg -version "
              f"and -encoders, X screen size), recording {span:.2f} s, finish {m.ended - f.last_seen:.2f} s "
              f"(remux, verify, exit); python while recording {1000 * during / span:.1f} ms CPU/s on average"
              f"{steady_text}")
        own, kids, rec = m.zombie_self_cpu_s, m.zombie_children_cpu_s, r.ffmpeg_cpu_s
        if own is not None and kids is not None and rec is not None:
            holds = m.cpu_s + 0.02 >= own + rec and abs(m.cpu_s - (own + kids)) < 0.05
            print(f"  wait4 includes the reaped ffmpeg: {'yes' if holds else 'NO'} (wait4 {m.cpu_s:.2f} s; "
                  f"/proc of the exited caprec: itself {own:.2f} s + reaped children {kids:.2f} s = "
                  f"{own + kids:.2f} s; recording ffmpeg alone {rec:.2f} s [{r.ffmpeg_cpu_how}], "
                  f"last /proc sample {f.cpu_s:.2f} s)")
        # A child caught between fork and exec still shows caprec's own command line: leave it out.
        own_argv = m.root.argv
        others = sorted({_short(t.argv) for t in m.sampler.find(lambda a, own=own_argv: a != own) if t is not f})
        if others:
            print(f"  other children seen: {', '.join(others)}")
        before, after, extra = python_phase(r, "before"), python_phase(r, "after"), helpers(r)
        if plain.error is None and None not in (before, after, extra) and span > 0:
            per_s = steady if steady is not None else during / span
            # What the recording phase cost beyond the steady rate (the cursor listener's start) is fixed too.
            fixed = (before or 0.0) + (after or 0.0) + (extra or 0.0) + max(0.0, during - per_s * span)
            rate = plain.measured.cpu_s / seconds

            def share(t: float, fixed: float = fixed, per_s: float = per_s, rate: float = rate) -> str:
                return f"{100 * (fixed + per_s * t) / (rate * t):.1f}%"
            print(f"  overhead model (caprec's own work, ffmpeg's run-to-run variation left out): fixed "
                  f"{fixed:.2f} s CPU per recording + {1000 * per_s:.1f} ms CPU/s; over plain ffmpeg's "
                  f"{rate:.2f} CPU-s/s that is {share(seconds)} at {seconds:g} s, {share(600)} at 10 min, "
                  f"{share(3600)} at 1 h")


def _cursor_lines(video: Path) -> str:
    log = video.with_suffix(".cursor.ndjson")
    if not log.exists():
        return "no log"
    with open(log, "rb") as handle:
        return str(sum(1 for _ in handle))


def _dry_run_argv(stdout: str) -> list[str] | None:
    """The FFmpeg argv in ``caprec record --dry-run``'s output: its first line that is not a comment."""
    for line in stdout.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                return shlex.split(line)
            except ValueError:
                return None
    return None


def _short(argv: list[str]) -> str:
    if not argv:
        return "?"
    name = Path(argv[0]).name
    for flag in ("-version", "-encoders"):
        if flag in argv:
            return f"{name} {flag}"
    if "+faststart" in argv:
        return f"{name} remux"
    if "null" in argv:
        return f"{name} verify"
    return name


def _drops(expected: int, frames: int | None) -> str:
    return "n/a" if frames is None else str(expected - frames)


# ----------------------------------------------------- 2. faster-than-real-time


class TimedProcess(ManagedProcess):
    """ManagedProcess that notes when FFmpeg started and exited, and its exact CPU.

    A thread waits for the exit with ``waitid(WNOWAIT)``, which does not
    reap: the recorder still reaps it as usual. The zombie's /proc stat
    holds FFmpeg's final CPU times.
    """

    last: TimedProcess | None = None

    def __init__(self, argv: Sequence[str], **kwargs: Any) -> None:
        super().__init__(argv, **kwargs)
        self.t_start = self.t_exit = 0.0
        self.self_cpu_start = self.self_cpu_exit = 0.0
        self.ffmpeg_cpu: float | None = None
        TimedProcess.last = self

    def start(self) -> None:
        self.self_cpu_start = _self_cpu()
        self.t_start = time.monotonic()
        super().start()
        threading.Thread(target=self._wait_exit, daemon=True).start()

    def _wait_exit(self) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
        self.t_exit = time.monotonic()
        self.self_cpu_exit = _self_cpu()
        stat = common.read_stat(self.pid)
        self.ffmpeg_cpu = stat.cpu_s if stat else None


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class ThroughputRun:
    bytes: int
    run_s: float
    ffmpeg_cpu_s: float | None
    python_cpu_s: float | None
    speed: str
    frames: str
    extra: str = ""

    @property
    def mbps(self) -> float:
        return self.bytes / self.run_s / MB if self.run_s else 0.0


X264_ONLY_OPTIONS = ("-crf", "-preset", "-tune", "-movflags")


def rawvideo_argv(argv: list[str]) -> list[str]:
    """caprec's argv with the encoder swapped for rawvideo in NUT: ~40 MB/s per 720p30 second of video.

    libx264 (even lossless) makes a few MB/s, far below what a pipe moves;
    uncompressed frames make FFmpeg a writer of hundreds of MB/s, which is
    what it takes to load the pump. MP4 cannot hold rawvideo, hence NUT;
    the x264/MP4-only options are dropped. Everything else stays.
    """
    out: list[str] = []
    it = iter(range(len(argv)))
    output_format_at = max(i for i, a in enumerate(argv) if a == "-f")
    for i in it:
        arg = argv[i]
        if arg in X264_ONLY_OPTIONS:
            next(it)
            continue
        if i > 0 and argv[i - 1] == "-c:v":
            arg = "rawvideo"
        elif i == output_format_at + 1:
            arg = "nut"
        out.append(arg)
    return out


def throughput_benchmark(args: argparse.Namespace, binary: FFmpegBinary, workdir: Path) -> None:
    source = VideoSource(backend=Backend.LAVFI, fps=args.fps, device=args.size, realtime=False)
    print(f"\n== 2. faster than real time: lavfi testsrc2 {args.size}@{args.fps:g} (not paced), "
          f"{args.reps} runs each, plain and engine alternating ==")
    variants: list[tuple[str, Encoding, Callable[[list[str]], list[str]] | None]] = [
        (f"x264 ({args.lavfi_seconds:g} s)", Encoding(codec="libx264", preset="ultrafast", crf=0,
                                                      duration=args.lavfi_seconds), None),
        (f"rawvideo ({args.stress_seconds:g} s)", Encoding(codec="libx264", preset="ultrafast", crf=0,
                                                          duration=args.stress_seconds), rawvideo_argv),
    ]
    columns: list[tuple[str, list[ThroughputRun]]] = []
    for name, encoding, rewrite in variants:
        pipe_argv = Recorder(binary).argv(source, encoding)
        argv = rewrite(pipe_argv) if rewrite else pipe_argv
        how = ("caprec's own argv" if rewrite is None else
               "caprec's argv with -c:v rawvideo -f nut (x264/mp4 options dropped) via a process_factory")
        print(f"{name}, {how}:")
        print("  plain :", common.quote([("FILE" if a == "pipe:1" else a) for a in argv]))
        print("  engine: Recorder(ffmpeg, process_factory=...).record(VideoSource(backend=LAVFI, realtime=False, "
              f"device='{args.size}'), {encoding}, Target(path=FILE)) -> the same argv, output pipe:1")
        plain_runs: list[ThroughputRun] = []
        engine_runs: list[ThroughputRun] = []
        for rep in range(args.reps):
            plain_runs.append(_plain_throughput(argv, workdir / f"lavfi-plain-{rep}.out", workdir))
            engine_runs.append(_engine_throughput(binary, source, encoding, workdir / f"lavfi-engine-{rep}.mp4",
                                                  rewrite))
        columns += [(f"{name.split()[0]}: plain", plain_runs), (f"{name.split()[0]}: engine", engine_runs)]

    def best(runs: list[ThroughputRun]) -> ThroughputRun:
        return max(runs, key=lambda r: r.mbps)

    def med(runs: list[ThroughputRun]) -> float:
        return statistics.median(r.mbps for r in runs)

    rows = [
        ["bytes written (MB)", *(common.mb(best(c).bytes) for _, c in columns)],
        ["ffmpeg run time, spawn to exit, best (s)", *(f2(best(c).run_s) for _, c in columns)],
        ["throughput, median (MB/s)", *(f1(med(c)) for _, c in columns)],
        ["throughput, every run (MB/s)", *(" ".join(f"{r.mbps:.0f}" for r in c) for _, c in columns)],
        ["ffmpeg speed= (-progress), best run", *(best(c).speed for _, c in columns)],
        ["frames (-progress)", *(best(c).frames for _, c in columns)],
        ["ffmpeg CPU, best run (s)", *(f2(best(c).ffmpeg_cpu_s) for _, c in columns)],
        ["python CPU while ffmpeg ran, best run (s)", *(_py_cpu(best(c)) for _, c in columns)],
        ["python CPU per GB pumped, best run (s)", *(_py_cpu(best(c), per_gb=True) for _, c in columns)],
        ["largest pump read / pipe size (KiB)", *(best(c).extra or "-" for _, c in columns)],
    ]
    print_table("Faster than real time (higher MB/s is better)", ["", *(name for name, _ in columns)], rows)
    print("python CPU = caprec's engine process (pump thread, stderr reader, watch loop) from FFmpeg's start to "
          "its exit. A largest read equal to the pipe size means the pipe was full at least once.")
    for k in range(0, len(columns), 2):
        (pname, plain_runs), (_, engine_runs) = columns[k], columns[k + 1]
        ratio = med(engine_runs) / med(plain_runs) if med(plain_runs) else 0.0
        overlap = (min(r.mbps for r in engine_runs) <= max(r.mbps for r in plain_runs)
                   and max(r.mbps for r in engine_runs) >= min(r.mbps for r in plain_runs))
        if ratio < 0.90 and overlap:
            verdict = ("the engine's median is >10% lower, but the runs' ranges overlap: within this machine's "
                       "run-to-run noise; rerun on an idle machine to tell")
        elif ratio < 0.90:
            verdict = "the engine is >10% slower in every run: the pipe + pump path costs throughput here"
        elif ratio <= 1.10:
            verdict = "within 10%: the pump is not the bottleneck"
        else:
            verdict = ("the engine is >10% faster: the pump is not the bottleneck (FFmpeg's writes land in a "
                       "pipe while the pump does the file I/O on another core; or noise)")
        print(f"{pname.split(':')[0]}: engine / plain median throughput {ratio:.3f} -> {verdict}")


def _py_cpu(run: ThroughputRun, *, per_gb: bool = False) -> str:
    cpu = run.python_cpu_s
    if cpu is None:
        return "-"
    return f2(cpu / (run.bytes / 1e9)) if per_gb else f2(cpu)


def _plain_throughput(pipe_argv: list[str], path: Path, workdir: Path) -> ThroughputRun:
    argv = [str(path) if a == "pipe:1" else a for a in pipe_argv]
    log = workdir / "lavfi-plain.stderr"
    with open(log, "wb") as err:
        measured = run_measured(argv, stderr=err)
    text = log.read_text("utf-8", "replace")
    if measured.returncode != 0:
        raise SystemExit(f"plain lavfi ffmpeg failed ({measured.returncode}): {text.strip()[-1500:]}")
    progress = common.last_progress(text)
    size = path.stat().st_size
    path.unlink()
    return ThroughputRun(bytes=size, run_s=measured.wall_s, ffmpeg_cpu_s=measured.cpu_s, python_cpu_s=None,
                         speed=progress.get("speed", "n/a"), frames=progress.get("frame", "n/a"))


def _engine_throughput(binary: FFmpegBinary, source: VideoSource, encoding: Encoding, path: Path,
                       rewrite: Callable[[list[str]], list[str]] | None) -> ThroughputRun:
    def factory(argv: list[str]) -> ManagedProcess:
        return TimedProcess(rewrite(argv) if rewrite else argv)

    recorder = Recorder(binary, process_factory=factory)
    result = recorder.record(source, encoding, Target(path=path))
    timed = TimedProcess.last
    assert timed is not None
    if result.error is not None:
        raise SystemExit(f"caprec engine failed: {result.error}")
    stats = result.stats
    progress = stats.progress
    pipe = f"{stats.pipe_high_water // 1024} / {(stats.pipe_size or 0) // 1024}"
    path.unlink()
    return ThroughputRun(bytes=stats.bytes, run_s=timed.t_exit - timed.t_start, ffmpeg_cpu_s=timed.ffmpeg_cpu,
                         python_cpu_s=timed.self_cpu_exit - timed.self_cpu_start,
                         speed=f"{progress.speed:g}x" if progress.speed else "n/a", frames=str(progress.frame),
                         extra=pipe)


# ------------------------------------------------------------------ 3. pump alone


@dataclass
class PumpRun:
    label: str
    bytes: int
    elapsed_s: float
    cpu_s: float
    reads: int
    pipe_size: int
    chunk: int
    high_water: int

    @property
    def mbps(self) -> float:
        return self.bytes / self.elapsed_s / MB


def _writer_thread(fd: int, total: int, chunk: int) -> Callable[[], None]:
    def run() -> None:
        block = memoryview(bytes(chunk))
        left = total
        try:
            while left > 0:
                left -= os.write(fd, block[:min(chunk, left)])
        finally:
            os.close(fd)
    return run


def pump_once(total: int, pipe_buffer: int, writer_chunk: int, writer: str, sink_path: str) -> PumpRun:
    read_fd, write_fd = os.pipe()
    try:
        # As Recorder.record does: ask for the buffer, read in chunks of what was granted.
        pipe_size = tune_pipe(read_fd, pipe_buffer) or _pipe_size(read_fd)
        chunk = max(pipe_buffer, pipe_size)
        sink = Sink(path=sink_path, overwrite=True)
        pump = PipePump(read_fd, sink, chunk_size=chunk, pipe_size=pipe_size)
        cpu0 = _self_cpu()
        t0 = time.perf_counter()
        pump.start()
        if writer == "thread":
            thread = threading.Thread(target=_writer_thread(write_fd, total, writer_chunk), name="bench-writer")
            thread.start()
            thread.join()
        else:  # a separate process, as FFmpeg is
            count = total // writer_chunk
            subprocess.run(["dd", "if=/dev/zero", f"bs={writer_chunk}", f"count={count}", "status=none"],
                           stdout=write_fd, check=True)
            os.close(write_fd)
            total = count * writer_chunk
        pump.join()
        elapsed = time.perf_counter() - t0
        cpu = _self_cpu() - cpu0
        stats = pump.stats()
    finally:
        os.close(read_fd)
    if stats.error is not None:
        raise SystemExit(f"pump failed: {stats.error}")
    if stats.bytes != total:
        raise SystemExit(f"pump moved {stats.bytes} bytes, expected {total}")
    return PumpRun(label="", bytes=stats.bytes, elapsed_s=elapsed, cpu_s=cpu, reads=stats.reads, pipe_size=pipe_size,
                   chunk=chunk, high_water=stats.high_water)


def _pipe_size(fd: int) -> int:
    import fcntl

    return int(fcntl.fcntl(fd, F_GETPIPE_SZ))


def pump_benchmark(args: argparse.Namespace, binary: FFmpegBinary, workdir: Path) -> None:
    total = int(args.pump_gb * 1e9) // args.writer_chunk * args.writer_chunk
    sink_path = "/dev/null" if args.pump_sink == "null" else str(workdir / "pump.bin")
    print(f"\n== 3. the pump alone: {common.mb(total)} MB through os.pipe() -> PipePump -> "
          f"{sink_path}, writes of {args.writer_chunk // 1024} KiB (FFmpeg's avio chunk), "
          f"{args.reps} runs each, interleaved ==")
    cases = [("1 MiB pipe (caprec default)", DEFAULT_PIPE_BUFFER),
             ("64 KiB pipe (kernel default)", KERNEL_PIPE_DEFAULT)]
    writers = ["thread", "process"] if args.pump_writer == "both" else [args.pump_writer]
    results: dict[tuple[str, str], list[PumpRun]] = {}
    for _ in range(args.reps):
        for writer in writers:
            for label, size in cases:
                results.setdefault((writer, label), []).append(
                    pump_once(total, size, args.writer_chunk, writer, sink_path))
    rows = []
    for (writer, label), runs in results.items():
        best = max(runs, key=lambda r: r.mbps)
        rows.append([
            f"{label}, writer {'thread' if writer == 'thread' else 'process (dd)'}",
            f1(statistics.median(r.mbps for r in runs)), f1(best.mbps),
            f"{best.pipe_size // 1024}/{best.chunk // 1024}",
            str(best.reads), f"{best.bytes / best.reads / 1024:.0f}", f"{best.high_water // 1024}",
            f"{best.cpu_s / (best.bytes / 1e9):.2f}",
        ])
    print_table("Pump alone (higher MB/s is better)",
                ["", "MB/s median", "MB/s best", "pipe/chunk KiB", "reads", "KiB/read", "max read KiB",
                 "CPU s/GB"], rows)
    print("CPU s/GB is this process's CPU (pump thread, plus the writer thread when it is one) per 10^9 bytes.")
    print(f"KiB/read near the writer's {args.writer_chunk // 1024} KiB means the pump drained each write as it "
          "came and the pipe never filled: its size cannot matter then. Larger reads mean the pump fell behind "
          "(descheduled) and the pipe held the backlog; the largest read shows how full it got.")
    if sink_path != "/dev/null":
        Path(sink_path).unlink(missing_ok=True)


# ------------------------------------------------------------------------- main


def _busy_warning() -> str | None:
    """A warning when other work already keeps the CPUs busy: the figures will be noisy."""
    try:
        one_minute = float(common.load_average().split()[0])
    except (ValueError, IndexError):
        return None
    cpus = len(os.sched_getaffinity(0))
    if one_minute > 0.5 * cpus:
        return (f"WARNING: load average {one_minute:.2f} on {cpus} CPUs before starting: other work is running, "
                "expect noisy figures (see 'other CPU on the machine meanwhile')")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each screen recording (20)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate (30)")
    parser.add_argument("--size", default="1280x720", help="Xvfb screen and lavfi pattern size (1280x720)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the screen animation (1)")
    parser.add_argument("--order", choices=("plain-first", "caprec-first"), default="plain-first",
                        help="which screen recording runs first")
    parser.add_argument("--no-cursor-variant", action="store_true",
                        help="skip the third screen run (caprec record --no-cursor)")
    parser.add_argument("--cold-bytecode", action="store_true",
                        help="run caprec with this environment's bytecode settings (no warm .pyc cache)")
    parser.add_argument("--lavfi-seconds", type=float, default=10.0, help="seconds of video in part 2 (10)")
    parser.add_argument("--stress-seconds", type=float, default=20.0,
                        help="seconds of video in part 2's rawvideo run (20: ~830 MB at 720p)")
    parser.add_argument("--reps", type=int, default=4, help="repetitions in parts 2 and 3 (4)")
    parser.add_argument("--pump-gb", type=float, default=2.0, help="bytes through the pump, in 10^9 (2)")
    parser.add_argument("--writer-chunk", type=int, default=FFMPEG_WRITE_CHUNK, help="writer's write size (32768)")
    parser.add_argument("--pump-writer", choices=("thread", "process", "both"), default="both",
                        help="who fills the pipe in part 3: a thread here, dd in a process, or both (both)")
    parser.add_argument("--pump-sink", choices=("null", "file"), default="null",
                        help="where the pump writes in part 3: /dev/null or a temporary file (null)")
    parser.add_argument("--skip", action="append", default=[], choices=("screen", "throughput", "pump"),
                        help="skip a part (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the recordings (prints where)")
    args = parser.parse_args(argv)

    if not sys.platform.startswith("linux"):
        raise SystemExit("this benchmark needs Linux (x11grab, /proc, F_SETPIPE_SZ)")
    global COLD_BYTECODE
    COLD_BYTECODE = args.cold_bytecode
    binary = find_ffmpeg()
    started = time.monotonic()
    print("command:", common.quote([sys.executable, *sys.argv]))
    print("ffmpeg :", binary.path, f"({binary.origin}):", common.ffmpeg_version(binary.path))
    print("ffprobe:", shutil.which("ffprobe") or "missing")
    print("machine:", ", ".join(f"{k} {v}" for k, v in common.machine_facts().items()))
    print("load average before:", common.load_average())
    busy = _busy_warning()
    if busy:
        print(busy)

    workdir = Path(tempfile.mkdtemp(prefix="caprec-bench-"))
    try:
        parts = (("screen", screen_benchmark), ("throughput", throughput_benchmark), ("pump", pump_benchmark))
        for name, part in parts:
            if name in args.skip:
                continue
            part(args, binary, workdir)
            print(f"(load average after this part: {common.load_average()})")
    finally:
        if args.keep:
            print(f"\nrecordings kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\ntotal benchmark time {time.monotonic() - started:.0f} s; load average after: {common.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
