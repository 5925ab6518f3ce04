"""A/V sync of caprec's recordings with sound, beside plain FFmpeg on the same inputs.

Linux only. Starts a private Xvfb and a private PulseAudio (null sinks ``speakers`` and ``micsink``; the
microphone ``mic`` is ``micsink``'s monitor). For each recording, ``tests/support/av_signal.py`` flashes the screen
and starts a beep at the same instants, taking turns between the speakers and the microphone; it places each
beep by the sound server's latency, so the flash and the beep really are simultaneous (it prints its own error
bound). ``tests/support/av_offsets.py`` finds each flash and beep in the file and gives audio - video per event
(positive: the sound is late); a run's figure is the median over its events.

Recordings, alternating: plain FFmpeg (x11grab + pulse, its defaults), and caprec with the desktop's sound,
with microphone and desktop mixed, with them on separate tracks, and a studio bundle (the picture in
``segments/1/display.mp4``, each input in its own ``audio-NAME.m4a``).

    python benchmarks/av_sync.py [--seconds 8] [--fps 30] [--reps 3] [--ffmpeg PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from support.av_offsets import offsets  # noqa: E402  (tests/ is not a package)

from benchmarks._common import source_env, xvfb  # noqa: E402

PERIOD_S = 0.5
SIZE = "640x360"
PULSE_START_TIMEOUT_S = 20.0
SIGNAL = ROOT / "tests" / "support" / "av_signal.py"


def start_pulse(home: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    socket = home / "native"
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(home), "PULSE_RUNTIME_PATH": str(home / "rt"),
           "PULSE_SERVER": f"unix:{socket}"}
    modules = [f"module-native-protocol-unix socket={socket} auth-anonymous=1", "module-null-sink sink_name=speakers",
               "module-null-sink sink_name=micsink", "module-remap-source source_name=mic master=micsink.monitor"]
    argv = ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit"]
    for module in modules:
        argv += ["-L", module]
    server = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + PULSE_START_TIMEOUT_S
    while subprocess.run(["pactl", "info"], env=env, capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("PulseAudio did not start")
        time.sleep(0.1)
    subprocess.run(["pactl", "set-default-sink", "speakers"], env=env, check=True)
    subprocess.run(["pactl", "set-default-source", "mic"], env=env, check=True)
    return server, env


def record(argv: list[str], env: dict[str, str], *, seconds: float) -> dict[str, float]:
    """Run the signal and ``argv`` (a recording) together; the signal's error bound."""
    count = int((seconds - 1) / PERIOD_S)
    signal = subprocess.Popen([sys.executable, str(SIGNAL), "--sink", "speakers", "--sink", "micsink", "--period",
                               f"{PERIOD_S:g}", "--count", str(count)], env=env, stdout=subprocess.PIPE, text=True)
    assert signal.stdout is not None
    try:
        if not signal.stdout.readline().startswith('{"ready"'):
            raise SystemExit("av_signal did not start")
        subprocess.run(argv, env=env, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        out, _ = signal.communicate(timeout=seconds + 30)
    finally:
        signal.kill()
        signal.wait()
    return dict(json.loads(out.splitlines()[-1])["summary"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--reps", type=int, default=3, help="recordings of each kind, alternating")
    parser.add_argument("--ffmpeg", default="ffmpeg", help="the FFmpeg both run (e.g. imageio-ffmpeg's)")
    args = parser.parse_args()
    for tool in ("Xvfb", "pulseaudio", "pactl", "ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    seconds, fps = f"{args.seconds:g}", f"{args.fps:g}"
    caprec = [sys.executable, "-m", "caprec", "record", "--ffmpeg", args.ffmpeg, "--fps", fps, "--no-cursor", "-d",
              seconds, "-q", "-o"]
    with tempfile.TemporaryDirectory(prefix="caprec-avsync-") as tmp, xvfb(SIZE) as server:
        home = Path(tmp)
        pulse, env = start_pulse(home)
        env.update(DISPLAY=server.display, **source_env(ROOT))
        # name -> (argv, {track: what it holds}); a studio track is a file of the bundle's first segment
        kinds: dict[str, tuple[list[str], dict[int | str, str]]] = {
            "plain ffmpeg": ([args.ffmpeg, "-v", "error", "-y", "-f", "x11grab", "-framerate", fps, "-i",
                              f"{server.display}.0", "-f", "pulse", "-i", "speakers.monitor", "-t", seconds,
                              "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-c:a", "aac",
                              str(home / "ffmpeg.mp4")], {0: "desktop"}),
            "caprec desktop": ([*caprec, str(home / "desktop.mp4"), "--audio", "desktop"], {0: "desktop"}),
            "caprec mixed": ([*caprec, str(home / "mixed.mp4"), "--audio", "mic,desktop"], {0: "mic+desktop"}),
            "caprec separate": ([*caprec, str(home / "separate.mp4"), "--audio", "mic,desktop", "--audio-tracks",
                                 "separate"], {0: "mic", 1: "desktop"}),
            "caprec studio": ([*caprec, str(home / "studio.caprec"), "--audio", "mic,desktop", "--mode", "studio"],
                              {"audio-mic.m4a": "mic", "audio-desktop.m4a": "desktop"}),
        }
        results: dict[tuple[str, str], list[float]] = {}
        bounds: list[float] = []
        try:
            for rep in range(args.reps):
                for name, (argv, tracks) in kinds.items():
                    path = Path(argv[argv.index("-o") + 1] if "-o" in argv else argv[-1])
                    if path.is_dir():
                        shutil.rmtree(path)
                    path.unlink(missing_ok=True)
                    summary = record(argv, env, seconds=args.seconds)
                    bounds.append(summary["bound_ms"])
                    for track, label in tracks.items():
                        if isinstance(track, str):  # a studio bundle: the picture and each input's file
                            segment = path / "segments" / "1"
                            found = offsets(segment / "display.mp4", fps=args.fps, period=PERIOD_S,
                                            sound=segment / track)
                        else:
                            found = offsets(path, fps=args.fps, period=PERIOD_S, track=track)
                        print(f"run {rep + 1} {name} [{label}]: {found.summary()} "
                              f"(signal bound {summary['bound_ms']:.1f} ms)", flush=True)
                        if found.offsets_ms:
                            results.setdefault((name, label), []).append(found.median_ms)
        finally:
            pulse.terminate()
            pulse.wait()
    print(f"\naudio - video, ms (positive: sound late); {args.reps} runs of {seconds} s at {fps} fps, a flash every "
          f"{PERIOD_S:g} s; video onsets are quantized to a frame ({1000 / args.fps:.1f} ms, corrected by half); "
          f"signal's own bound (median event error + play clock): median {statistics.median(bounds):.1f} ms, "
          f"worst run {max(bounds):.1f} ms")
    for (name, label), medians in results.items():
        print(f"  {name:16} {label:12} median of run medians {statistics.median(medians):+6.1f}, runs "
              + ", ".join(f"{m:+.1f}" for m in medians) + f" (spread {max(medians) - min(medians):.1f})")


if __name__ == "__main__":
    main()
