"""``caprec render`` speed and memory on synthetic studio bundles, with the filter-graph alternative beside it.

For each size (1280x720@30 and 1920x1080@30 by default) it makes a bundle
quickly (FFmpeg's ``testsrc2`` pattern encoded ultrafast, and a synthetic
cursor log: a pointer gliding at 60 Hz with a click every 6 s, so auto-zoom
covers about half the time), then renders it with ``caprec render``
(libx264 veryfast, cursor + auto-zoom, smoothing mellow) as a subprocess and
prints:

* x realtime (recording seconds / wall seconds);
* peak RSS of caprec's Python process (psutil, sampled every 50 ms) and of
  its FFmpeg children, for a short and a long bundle: flat in length means
  the two are within 10 %;
* the split of time: waiting for decoded frames, the numpy transform,
  waiting on the encoder (wall seconds in the frame loop), and the CPU
  seconds of the decoding and encoding FFmpegs;
* the same zoom done inside one FFmpeg filter graph (``perspective`` with
  per-frame expressions: sub-pixel, the alternative to numpy through pipes),
  x realtime, for comparison.

The machine may be shared: the load average is printed with the figures.

    python benchmarks/render.py [--seconds 60] [--long 600] [--sizes 1280x720,1920x1080]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from _common import source_env

REPO = Path(__file__).resolve().parent.parent
FPS = 30
CLICK_EVERY_S = 6.0
MOVE_HZ = 60
SAMPLE_S = 0.05
MB = 1e6


def make_bundle(root: Path, width: int, height: int, seconds: float) -> Path:
    """A studio bundle with one segment of ``testsrc2`` and a synthetic cursor log."""
    bundle = root / f"bench-{width}x{height}-{seconds:g}s.caprec"
    (bundle / "segments" / "1").mkdir(parents=True)
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={FPS}",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    str(bundle / "segments" / "1" / "display.mp4")], check=True)
    (bundle / "recording.toml").write_text(
        'format = "caprec-studio"\nversion = 1\nstatus = "complete"\nfps = 30.0\ncursor = "cursor.ndjson"\n'
        f'[[segments]]\nindex = 1\ndisplay = "segments/1/display.mp4"\nstart = 0.0\nduration = {seconds}\n'
        f'frames = {round(seconds * FPS)}\nstatus = "complete"\n')
    lines = [json.dumps({"format": "caprec-cursor", "version": "1.0", "unit": "pixels", "fps": float(FPS),
                         "region": {"x": 0, "y": 0, "width": width, "height": height}})]
    step = 1.0 / MOVE_HZ
    t = 0.0
    while t < seconds:
        nx = 0.5 + 0.4 * math.sin(t * 0.7)
        ny = 0.5 + 0.35 * math.cos(t * 0.45)
        event = {"t": round(t * 1000, 1), "type": "move", "x": round(nx * width), "y": round(ny * height),
                 "nx": round(nx, 5), "ny": round(ny, 5)}
        lines.append(json.dumps(event))
        if t % CLICK_EVERY_S < step:
            for pressed in (True, False):
                lines.append(json.dumps({**event, "type": "click", "button": "left", "pressed": pressed}))
        t += step
    (bundle / "cursor.ndjson").write_text("\n".join(lines) + "\n")
    return bundle


class PeakRss:
    """Samples the peak RSS of a process and, separately, of its children, on a thread it owns."""

    def __init__(self, pid: int) -> None:
        self._proc = psutil.Process(pid)
        self.own = 0
        self.children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.own = max(self.own, self._proc.memory_info().rss)
                kids = sum(child.memory_info().rss for child in self._proc.children(recursive=True))
                self.children = max(self.children, kids)
            except psutil.Error:
                pass
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_render(bundle: Path, out: Path) -> dict[str, Any]:
    env = {**os.environ, **source_env(REPO)}
    argv = [sys.executable, "-m", "caprec", "render", str(bundle), "-o", str(out), "--json", "-q", "--overwrite"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with PeakRss(proc.pid) as rss:
        stdout, stderr = proc.communicate()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"render failed: {stderr.decode(errors='replace')}")
    summary: dict[str, Any] = json.loads(stdout)
    summary["process_wall"] = wall
    # caprec and the FFmpegs it reaped: CPU seconds of the whole tree, independent of other load.
    summary["tree_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary["rss_python_mb"] = rss.own / MB
    summary["rss_ffmpeg_mb"] = rss.children / MB
    return summary


def filter_graph(bundle: Path, width: int, height: int, seconds: float) -> float:
    """x realtime of the same kind of zoom inside one FFmpeg graph (perspective, per-frame, sub-pixel)."""
    # Scale oscillating 1..2 about the centre; corners of the source quad evaluated per frame.
    s = f"(1.5-0.5*cos(in/{FPS}))"
    x0, y0 = f"(W/2-W/2/{s})", f"(H/2-H/2/{s})"
    x1, y1 = f"(W/2+W/2/{s})", f"(H/2+H/2/{s})"
    graph = (f"perspective=x0={x0}:y0={y0}:x1={x1}:y1={y0}:x2={x0}:y2={y1}:x3={x1}:y3={y1}"
             ":interpolation=linear:eval=frame")
    started = time.monotonic()
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(bundle / "segments" / "1" / "display.mp4"), "-vf", graph,
                    "-c:v", "libx264", "-preset", "veryfast", "-f", "mp4", "-y", os.devnull], check=True)
    return seconds / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="the short bundle's length")
    parser.add_argument("--long", type=float, default=600.0, help="the long bundle's length (memory flatness)")
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--no-filter-graph", action="store_true", help="skip the FFmpeg filter-graph comparison")
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}  load average at start {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="caprec-render-bench-") as tmp:
        root = Path(tmp)
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            for seconds in (args.seconds, args.long):
                bundle = make_bundle(root, width, height, seconds)
                result = run_render(bundle, root / "out.mp4")
                timings = result["timings"]
                print(f"{width}x{height}@{FPS} {seconds:g} s: {seconds / result['process_wall']:.2f}x realtime "
                      f"(render loop {result['speed']}x), peak RSS python {result['rss_python_mb']:.0f} MB, "
                      f"ffmpeg children {result['rss_ffmpeg_mb']:.0f} MB; zoom segments {len(result['zoom'])}")
                cpu_per_s = result["tree_cpu"] / seconds
                print(f"    CPU: {cpu_per_s:.2f} core-seconds per recorded second (whole tree): "
                      f"{os.cpu_count() or 1:d} idle cores would give about {(os.cpu_count() or 1) / cpu_per_s:.2f}x "
                      "realtime")
                print(f"    frame loop (wall s): wait decode {timings['wait_decode']:.2f}, transform "
                      f"{timings['transform']:.2f}, wait encode {timings['wait_encode']:.2f} of "
                      f"{timings['wall']:.2f}; CPU s: decode {timings['decode_cpu']}, encode {timings['encode_cpu']}")
                if seconds == args.seconds and not args.no_filter_graph:
                    print(f"    one FFmpeg filter graph (perspective, eval=frame): "
                          f"{filter_graph(bundle, width, height, seconds):.2f}x realtime, no cursor")
                for path in bundle.rglob("*"):
                    if path.is_file():
                        path.unlink()
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
