"""caprec's own CPU while recording with the cursor log on: a resting, a moving and a clicking pointer.

Each run is ``caprec record --cursor`` of an x11grab display on Xvfb. After
the first frame (the cursor log appears) and ``--settle`` seconds, the CPU
of caprec's Python process alone (not FFmpeg's) is taken over ``--seconds``
seconds: utime + stime from ``/proc/PID/stat`` (10 ms ticks) and the sum of
its threads' ``/proc/PID/task/*/schedstat`` run times (ns), in ms of CPU per
second of recording. Meanwhile the pointer

* rests (no input at all),
* moves: one ``xdotool`` warping it ``--rate`` times a second (a real mouse
  sends 125-1000 motion events a second),
* clicks: ``xdotool`` clicking ``--clicks`` times a second without moving.

``--before REV`` runs the same scenarios with the tree of git revision REV
(extracted with ``git archive`` into a temporary directory), alternating
with this checkout's so that both see the same machine load; the table puts
them side by side. The load average is printed at the start and the end.

    python benchmarks/cursor_cpu.py [--seconds 10] [--before dec02ab] [--fps 30]
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 30.0
FINISH_TIMEOUT_S = 60.0
POLL_S = 0.05
# Beyond the measured window: start-up and the stop, so that -d never ends a run early.
DURATION_MARGIN_S = 30.0
SCENARIOS = ("rest", "move", "click")


@dataclass
class Run:
    tree: str
    scenario: str
    ms_per_s_ticks: float
    ms_per_s_threads: float
    events: int  # xdotool actions sent in the window
    log_lines: int


def cpu_ticks(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_runtime(pid: int) -> float:
    total = 0
    for stat in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        with contextlib.suppress(OSError):
            total += int(Path(stat).read_text().split()[0])
    return total / 1e9


@contextlib.contextmanager
def tree_at(rev: str) -> Iterator[Path]:
    """The tree of ``rev`` in a temporary directory (this repository's git history)."""
    with tempfile.TemporaryDirectory(prefix="caprec-before-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp)


def xdotool_script(scenario: str, *, rate: float, clicks: float, seconds: float) -> tuple[str, int]:
    """An ``xdotool -`` script for the window, and how many actions it sends."""
    lines: list[str] = []
    if scenario == "move":
        count = int(rate * seconds)
        for i in range(count):
            lines += [f"mousemove {100 + (i * 3) % 900} {100 + (i * 7) % 500}", f"sleep {1 / rate:.4f}"]
        return "\n".join(lines) + "\n", count
    if scenario == "click":
        count = int(clicks * seconds)
        for _ in range(count):
            lines += ["click 1", f"sleep {1 / clicks:.4f}"]
        return "\n".join(lines) + "\n", count
    return "", 0


def run_one(tree: Path, label: str, scenario: str, display: str, args: argparse.Namespace,
            workdir: Path) -> Run:
    out = workdir / f"{label}-{scenario}-{time.monotonic_ns()}.mp4"
    log = out.with_name(out.stem + ".cursor.ndjson")
    env = {**os.environ, "DISPLAY": display, **common.source_env(tree)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(workdir / f"pycache-{label}")
    subprocess.run(["xdotool", "mousemove", "640", "360"], env=env, check=True)
    argv = [sys.executable, "-m", "caprec", "record", "--display", display, "--cursor", "--quiet",
            "--fps", f"{args.fps:g}", "-d", f"{args.seconds + args.settle + DURATION_MARGIN_S:g}", "-o", str(out)]
    proc = subprocess.Popen(argv, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not log.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
                raise SystemExit(f"{label} {scenario}: no cursor log: {err.strip()[-400:]}")
            time.sleep(POLL_S)
        time.sleep(args.settle)
        script, sent = xdotool_script(scenario, rate=args.rate, clicks=args.clicks, seconds=args.seconds)
        driver = None
        if script:
            driver = subprocess.Popen(["xdotool", "-"], stdin=subprocess.PIPE, env=env)
        t0, ticks0, threads0 = time.monotonic(), cpu_ticks(proc.pid), thread_runtime(proc.pid)
        if driver is not None and driver.stdin is not None:
            driver.stdin.write(script.encode())
            driver.stdin.close()
        time.sleep(args.seconds)
        span = time.monotonic() - t0
        ticks1, threads1 = cpu_ticks(proc.pid), thread_runtime(proc.pid)
        if driver is not None:
            driver.kill()
            driver.wait()
    finally:
        common.end_process(proc, signum=signal.SIGINT, timeout=FINISH_TIMEOUT_S)
    lines = sum(1 for _ in log.open("rb")) if log.exists() else 0
    for leftover in (out, log):
        with contextlib.suppress(OSError):
            leftover.unlink()
    return Run(label, scenario, 1000 * (ticks1 - ticks0) / span, 1000 * (threads1 - threads0) / span, sent, lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per run (default 10)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after the first frame before it")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=200.0, help="pointer warps per second when moving")
    parser.add_argument("--clicks", type=float, default=10.0, help="clicks per second when clicking")
    parser.add_argument("--before", metavar="REV", help="also run git revision REV's tree, side by side")
    parser.add_argument("--reps", type=int, default=1, help="runs per tree and scenario (the median is shown)")
    args = parser.parse_args()

    print(f"load average at start: {common.load_average()}; {os.cpu_count()} CPUs")
    with contextlib.ExitStack() as stack:
        trees: list[tuple[str, Path]] = []
        if args.before:
            trees.append((f"before {args.before}", stack.enter_context(tree_at(args.before))))
        trees.append(("this tree", REPO))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="caprec-cursor-cpu-")))
        server = stack.enter_context(common.xvfb("1280x720"))
        runs: list[Run] = []
        for scenario in SCENARIOS:
            for _ in range(args.reps):
                for label, tree in trees:  # alternating: both trees see the same load
                    runs.append(run_one(tree, label, scenario, server.display, args, workdir))
    print(f"load average at end: {common.load_average()}")
    print("log lines = the header + the events logged in the whole run (a click is a press and a release)")
    print(f"\ncaprec's Python process only (FFmpeg excluded), ms of CPU per second of recording; "
          f"x11grab {args.fps:g} fps on Xvfb, {args.seconds:g} s windows, median of {args.reps}; "
          "threads = sum of /proc/PID/task/*/schedstat, ticks = /proc/PID/stat utime+stime")
    header = ["pointer", *(f"{label} {kind}" for label, _ in trees for kind in ("threads", "ticks", "log lines"))]
    rows = []
    for scenario in SCENARIOS:
        row = [scenario]
        for label, _ in trees:
            mine = [r for r in runs if r.tree == label and r.scenario == scenario]
            mine.sort(key=lambda r: r.ms_per_s_threads)
            mid = mine[len(mine) // 2]
            row += [f"{mid.ms_per_s_threads:.2f}", f"{mid.ms_per_s_ticks:.1f}", str(mid.log_lines)]
        sent = next(r.events for r in runs if r.scenario == scenario)
        rows.append([f"{scenario} ({sent} xdotool actions scripted)" if sent else scenario, *row[1:]])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(
            zip(line, widths, strict=True))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
