"""A/V sync of ``caprec record --audio desktop``: a flash on screen and a beep on the speakers, together.

Linux only. Starts a private Xvfb and a private PulseAudio (a null sink as the speakers), then a flasher:
one FFmpeg process, paced in real time (``-re``), that shows a picture in an SDL window (white for
``BEEP_S`` every ``--period`` seconds, black otherwise) and plays a 1 kHz beep at the same moments into the
sink (``-buffer_duration`` small). caprec records the screen and the desktop's sound into one MP4; the script
finds each flash (first bright frame, by its timestamp) and each beep (first 1 ms block above half the beep's
level) and prints the offset audio - video per pair and their median. A positive offset: the sound is late.

The figure includes the flasher's own paths to the screen and to the speakers (its PulseAudio buffer,
printed), so it bounds caprec's share from above.

    python benchmarks/av_sync.py [--seconds 10] [--period 2] [--fps 60] [--reps 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import xvfb

SAMPLE_RATE = 48000
BEEP_HZ = 1000
BEEP_S = 0.15
PULSE_BUFFER_MS = 20
SIZE = (320, 240)
PULSE_START_TIMEOUT_S = 20.0


def start_pulse(home: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    socket = home / "native"
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(home), "PULSE_RUNTIME_PATH": str(home / "rt"),
           "PULSE_SERVER": f"unix:{socket}"}
    server = subprocess.Popen(["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
                               "-L", f"module-native-protocol-unix socket={socket} auth-anonymous=1",
                               "-L", "module-null-sink sink_name=speakers"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + PULSE_START_TIMEOUT_S
    while subprocess.run(["pactl", "info"], env=env, capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("PulseAudio did not start")
        time.sleep(0.1)
    subprocess.run(["pactl", "set-default-sink", "speakers"], env=env, check=True)
    return server, env




def onsets(values: np.ndarray, times: np.ndarray, threshold: float, min_gap: float) -> list[float]:
    """Times where ``values`` first rise above ``threshold``, at least ``min_gap`` apart."""
    found: list[float] = []
    above = values > threshold
    for index in np.flatnonzero(above[1:] & ~above[:-1]) + 1:
        if not found or times[index] - found[-1] > min_gap:
            found.append(float(times[index]))
    return found


def video_onsets(path: Path, fps: float) -> list[float]:
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=pts_time",
                            "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout
    times = np.array([float(line.strip(",")) for line in probe.split() if line.strip(",")])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-f", "rawvideo", "-pix_fmt",
                          "gray", "-"], capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, SIZE[1], SIZE[0]).mean(axis=(1, 2))
    if os.environ.get("AVSYNC_DEBUG"):
        print("video brightness:", " ".join(f"{t:.2f}:{v:.0f}" for t, v in zip(times, frames, strict=False)
                                            if v > 10))
    return onsets(frames, times[: len(frames)], 128, 0.5)


def audio_onsets(path: Path) -> list[float]:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-ac", "1", "-ar",
                          str(SAMPLE_RATE), "-f", "f32le", "-"], capture_output=True, check=True).stdout
    samples = np.abs(np.frombuffer(raw, np.float32))
    block = SAMPLE_RATE // 1000  # 1 ms
    levels = samples[: len(samples) // block * block].reshape(-1, block).max(axis=1)
    start = float(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                                  "stream=start_time", "-of", "csv=p=0", str(path)], capture_output=True, text=True,
                                 check=True).stdout.strip() or 0)
    times = start + np.arange(len(levels)) / 1000.0
    return onsets(levels, times, levels.max() / 2, 0.5)


def offsets_ms(path: Path, *, fps: float, period: float) -> tuple[int, int, list[float]]:
    """Flashes found, beeps found, and audio - video in ms for each flash paired with its nearest beep."""
    video, audio = video_onsets(path, fps), audio_onsets(path)
    pairs = [(v, min(audio, key=lambda a, v=v: abs(a - v))) for v in video] if audio else []
    return len(video), len(audio), [(a - v) * 1000 for v, a in pairs if abs(a - v) < period / 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--period", type=float, default=2.0, help="seconds between flashes (pairs must be "
                                                                   "closer than half of it)")
    parser.add_argument("--fps", type=float, default=60.0)
    parser.add_argument("--reps", type=int, default=2, help="recordings of each kind, alternating")
    args = parser.parse_args()
    for tool in ("Xvfb", "pulseaudio", "pactl", "ffmpeg"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    results: list[tuple[str, list[str], tuple[int, int, list[float]]]] = []
    with tempfile.TemporaryDirectory(prefix="caprec-avsync-") as tmp, xvfb(f"{SIZE[0]}x{SIZE[1]}") as server:
        home = Path(tmp)
        pulse, env = start_pulse(home)
        env["DISPLAY"] = server.display
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        flash = (f"color=black:s={SIZE[0]}x{SIZE[1]}:r={args.fps:g},drawbox=c=white:t=fill:"
                 f"enable='lt(mod(t\\,{args.period:g})\\,{BEEP_S:g})'")
        beep = f"sine=f={BEEP_HZ}:r={SAMPLE_RATE},volume=0:enable='gte(mod(t\\,{args.period:g})\\,{BEEP_S:g})'"
        flasher = subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", flash, "-re", "-f", "lavfi",
                                    "-i", beep, "-map", "0:v", "-pix_fmt", "yuv420p", "-f", "sdl2", "flasher",
                                    "-map", "1:a", "-f", "pulse", "-buffer_duration", str(PULSE_BUFFER_MS),
                                    "-device", "speakers", "beeps"], stdin=subprocess.DEVNULL, env=env)
        runs = {
            "caprec": [sys.executable, "-m", "cli", "record", "--audio", "desktop", "--fps", f"{args.fps:g}",
                       "--no-cursor", "-d", f"{args.seconds:g}", "-q", "-o", str(home / "caprec.mp4")],
            "plain ffmpeg": ["ffmpeg", "-v", "error", "-f", "x11grab", "-framerate", f"{args.fps:g}", "-i",
                             f"{server.display}.0", "-f", "pulse", "-i", "@DEFAULT_MONITOR@", "-t", f"{args.seconds:g}",
                             "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-c:a", "aac",
                             str(home / "ffmpeg.mp4")],
        }
        try:
            # A first recording after the flasher starts sees the sound server settle: warm up, then alternate.
            subprocess.run([*runs["plain ffmpeg"][:-1], str(home / "warm-up.mp4")], env=env, check=True)
            for _ in range(args.reps):
                for name, argv in runs.items():
                    Path(argv[-1]).unlink(missing_ok=True)
                    subprocess.run(argv, env=env, check=True)
                    results.append((name, argv, offsets_ms(Path(argv[-1]), fps=args.fps, period=args.period)))
        finally:
            flasher.kill()
            flasher.wait()
            pulse.terminate()
            pulse.wait()
    print(f"frame interval: {1000 / args.fps:.1f} ms (video onsets are quantized to it); "
          f"flasher's PulseAudio buffer: {PULSE_BUFFER_MS} ms; flash every {args.period:g} s")
    for name, argv in runs.items():
        print(f"{name}: {' '.join(argv)}")
        for run_name, _, (flashes, beeps, offsets) in results:
            if run_name != name:
                continue
            median = f"median {statistics.median(offsets):+.1f} ms" if offsets else "no pairs"
            print(f"  flashes {flashes}, beeps {beeps}: " + ", ".join(f"{offset:+.0f}" for offset in offsets)
                  + f" ms; {median}")


if __name__ == "__main__":
    main()
