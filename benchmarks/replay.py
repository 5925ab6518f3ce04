"""Replay buffer: caprec's memory over a long buffered run, and how fast a save lands.

Runs the real binary, ``caprec record --replay WINDOW --quiet -o DIR``, on
FFmpeg's test pattern paced in real time (``-re``: a 10-minute run takes 10
minutes) or on an Xvfb screen (``--source screen``), for ``--minutes``. At
each checkpoint (``--at``, minutes; default 1, 5 and 10) it reads caprec's
RSS and its FFmpeg child's RSS from /proc, sends SIGUSR2 and measures the
save's latency: from the signal to the clip's name appearing (the clip is
complete then: it is published by a hard link after its read-back). The
clip's duration is read back with ffprobe. Flat RSS from checkpoint to
checkpoint means memory does not grow with the recording's length: the ring
holds WINDOW seconds whatever the run's length.

``--unpaced`` runs the same engine in this process (``ReplaySession``, no
CLI) on the test pattern without ``-re``: ten minutes of video in a few
minutes of wall time; checkpoints are then minutes of video, the RSS is this
process's, and the latency runs from the save request to the saver's callback.

Usage: python benchmarks/replay.py [--minutes 10] [--at 1,5,10] [--window 30] [--source test|screen]
                                   [--max-memory 512MiB] [--dir DIR] [--keep] [--unpaced [--size 1280x720]]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from _common import end_process, ffmpeg_version, machine_facts, source_env, xvfb

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 30.0
SAVE_TIMEOUT_S = 60.0
POLL_S = 0.002


def rss_mb(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / (1024 * 1024)
    except psutil.NoSuchProcess:
        return 0.0


def ffmpeg_child(pid: int) -> int | None:
    with contextlib.suppress(psutil.NoSuchProcess):
        for child in psutil.Process(pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):
                if "ffmpeg" in child.name():
                    return child.pid
    return None


def clip_duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return float(json.loads(out)["format"]["duration"])


def clips(directory: Path) -> set[Path]:
    return {p for p in directory.glob("*.mp4") if not p.name.startswith(".")}


@contextlib.contextmanager
def display(source: str) -> Iterator[dict[str, str]]:
    if source == "test":
        yield {}
        return
    with xvfb() as server:
        yield {"DISPLAY": server.display}


def run_unpaced(args: argparse.Namespace, checkpoints: list[float], out: Path) -> None:
    """The engine in this process, unpaced: checkpoints in minutes of video."""
    import threading

    from caprec.capture.ffmpeg.argv import Backend, Encoding, VideoSource
    from caprec.capture.ffmpeg.binary import find_ffmpeg
    from caprec.capture.record.segment import Recorder, RecordingStats, StopControl
    from caprec.capture.replay.save import ClipPattern
    from caprec.capture.replay.session import ReplaySession, ReplaySpec, SaveControl, SaveOutcome
    from caprec.capture.units import parse_byte_size, parse_duration

    saves = SaveControl()
    stop = StopControl()
    pending = list(checkpoints)
    asked: list[tuple[float, float, float]] = []  # (minute, request time, caprec RSS)
    answered = threading.Event()

    def on_stats(stats: RecordingStats) -> None:
        minute = stats.progress.out_time_s / 60
        if pending and minute >= pending[0] and (not asked or answered.is_set()):
            answered.clear()
            asked.append((pending.pop(0), time.monotonic(), rss_mb(os.getpid())))
            saves.request()

    def on_saved(outcome: SaveOutcome) -> None:
        minute, requested, caprec_rss = asked[-1]
        latency_ms = (time.monotonic() - requested) * 1000
        clip = outcome.clip
        length = clip_duration(clip.path) if clip is not None else float("nan")
        print(f"{minute:7g} {caprec_rss:14.1f} {'-':>14} {latency_ms:16.0f} {length:7.2f}", flush=True)
        answered.set()
        if not pending:
            stop.request()

    spec = ReplaySpec(source=VideoSource(backend=Backend.LAVFI, device=args.size, realtime=False),
                      encoding=Encoding(), window_s=parse_duration(args.window, origin="--window"),
                      pattern=ClipPattern(out, "bench"), max_bytes=parse_byte_size(
                          args.max_memory, origin="--max-memory", maximum=64 * 1024**3))
    ReplaySession(Recorder(find_ffmpeg())).run(spec, stop=stop, saves=saves, on_saved=on_saved, on_stats=on_stats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--at", default="1,5,10", help="checkpoints in minutes (those past --minutes are skipped)")
    parser.add_argument("--window", default="30s")
    parser.add_argument("--source", choices=("test", "screen"), default="test")
    parser.add_argument("--max-memory", default="512MiB")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--unpaced", action="store_true", help="the engine in-process, faster than real time")
    parser.add_argument("--size", default="1280x720", help="test pattern size with --unpaced")
    args = parser.parse_args()
    checkpoints = sorted({float(x) for x in args.at.split(",") if float(x) <= args.minutes} | {args.minutes})
    work = Path(tempfile.mkdtemp(prefix="caprec-replay-bench-", dir=args.dir))
    run_dir = work / "run"
    run_dir.mkdir(mode=0o700)
    out = work / "clips"
    out.mkdir()
    argv = [sys.executable, "-m", "caprec", "record", "--source", args.source, "--replay", args.window,
            "--replay-max-memory", args.max_memory, "--quiet", "-o", str(out)]
    if args.source == "screen":
        argv.append("--no-cursor")
    print("# replay buffer benchmark")
    for key, value in machine_facts().items():
        print(f"# {key}: {value}")
    print(f"# ffmpeg: {ffmpeg_version(shutil.which('ffmpeg') or 'ffmpeg')}")
    command = "ReplaySession in-process, unpaced, " + args.size if args.unpaced else " ".join(argv[1:])
    print(f"# command: {command}  ({args.minutes:g} min, checkpoints {checkpoints})")
    print(f"{'minute':>7} {'caprec RSS MB':>14} {'ffmpeg RSS MB':>14} {'save latency ms':>16} {'clip s':>7}")
    if args.unpaced:
        run_unpaced(args, checkpoints, out)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    with display(args.source) as extra:
        env = {**os.environ, **source_env(REPO), "XDG_RUNTIME_DIR": str(run_dir), "NO_COLOR": "1", **extra}
        proc = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not list((run_dir / "caprec").glob("replay-*.json")):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"caprec did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
                time.sleep(0.05)
            started = time.monotonic()
            for minute in checkpoints:
                while (left := started + minute * 60 - time.monotonic()) > 0:
                    time.sleep(min(left, 1.0))
                    if proc.poll() is not None:
                        raise SystemExit(f"caprec stopped: {proc.stderr.read().decode() if proc.stderr else ''}")
                caprec_rss = rss_mb(proc.pid)
                child = ffmpeg_child(proc.pid)
                ffmpeg_rss = rss_mb(child) if child is not None else float("nan")
                before = clips(out)
                sent = time.monotonic()
                proc.send_signal(signal.SIGUSR2)
                while not (new := clips(out) - before):
                    if time.monotonic() - sent > SAVE_TIMEOUT_S:
                        raise SystemExit("no clip within the save timeout")
                    time.sleep(POLL_S)
                latency_ms = (time.monotonic() - sent) * 1000
                clip = new.pop()
                print(f"{minute:7g} {caprec_rss:14.1f} {ffmpeg_rss:14.1f} {latency_ms:16.0f} "
                      f"{clip_duration(clip):7.2f}", flush=True)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        finally:
            end_process(proc)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"# clips kept in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
