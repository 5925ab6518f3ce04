"""How long caprec makes a user wait: start, stop, help, --version, completion, a 1-second recording.

Each figure is the median of ``--runs`` runs of the real command, with its
CPU time beside the wall time, because on a loaded machine the wall time
measures the load too. By default caprec runs as the README installs it: a
fresh virtual environment in the work directory, ``pip install`` of this
tree (not editable), and its ``caprec`` script. ``--from-source`` runs
``python -m caprec`` from the tree instead (this interpreter's site-packages,
an editable install's import hook included; bytecode cached either way).

* start (test): Enter -> the first frame reached the output file (its first
  bytes: FFmpeg writes the header once the first frame is encoded);
* start (x11grab): Enter -> the first frame, as the cursor log's header
  records it (``first_frame_wall``, FFmpeg's own wall-clock stamp);
* stop: Ctrl-C (SIGINT) after ``--stop-seconds`` of 720p -> caprec exited,
  file finished and read back;
* help (from the cache, and not cached: the first time), --version, TAB
  completion (``caprec rec<TAB>``, ``caprec record --so<TAB>``);
* a 1-second recording from Enter to exit.

Goals (issue 10): start <= 0.3 s, --version <= 0.1 s, help and completion
<= 0.2 s, stop <= 0.5 s after a 1-minute recording, 1-second recording <= 1.6 s.

    python benchmarks/latency.py [--runs 5] [--stop-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common

REPO = Path(__file__).resolve().parent.parent
POLL_S = 0.002
RUN_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float


def environment(workdir: Path, display: str | None = None, *, source: bool = True) -> dict[str, str]:
    """caprec's environment: a private config and cache; from source, this checkout with bytecode cached outside it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPREC_") and k != "PYTHONDONTWRITEBYTECODE"}
    if source:
        env.update(common.source_env(REPO))
        env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    env["XDG_CACHE_HOME"] = str(workdir / "cache")
    env.pop("DISPLAY", None)
    if display is not None:
        env["DISPLAY"] = display
    return env


INSTALL_TIMEOUT_S = 600.0


def caprec(command: Sequence[str], *args: str) -> list[str]:
    """``command`` (the caprec being measured) with ``args``."""
    return [*command, *args]


def install(workdir: Path) -> Path:
    """``python -m venv`` and ``pip install`` of this tree, as the README does; the ``caprec`` script's path."""
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=INSTALL_TIMEOUT_S)
    pip_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(REPO)], check=True, env=pip_env,
                   stdout=subprocess.DEVNULL, timeout=INSTALL_TIMEOUT_S)
    return venv / "bin" / "caprec"


def _wait(proc: subprocess.Popen[bytes]) -> float:
    """Reap ``proc``; its CPU (user + sys, with the descendants it reaped)."""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped by wait4: keep Popen from waiting again
    return usage.ru_utime + usage.ru_stime


def run_once(argv: Sequence[str], env: dict[str, str], cwd: Path,
             extra_env: dict[str, str] | None = None) -> Sample:
    started = time.monotonic()
    proc = subprocess.Popen(list(argv), cwd=cwd, env={**env, **(extra_env or {})}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu = _wait(proc)
    return Sample(time.monotonic() - started, cpu)


def first_bytes(command: Sequence[str], env: dict[str, str], cwd: Path, index: int) -> Sample:
    """Enter -> the output file exists (the first frame is encoded); CPU of the whole run."""
    out = cwd / f"start-{index}.mp4"
    started = time.monotonic()
    argv = caprec(command, "record", "--source", "test", "-d", "1", "--quiet", "-o", str(out))
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while not out.exists() and proc.poll() is None:
        time.sleep(POLL_S)
    first = time.monotonic() - started
    cpu = _wait(proc)
    return Sample(first, cpu)


def x11_first_frame(command: Sequence[str], env: dict[str, str], cwd: Path, index: int) -> Sample:
    """Enter -> FFmpeg's first frame (the cursor log header's ``first_frame_wall``)."""
    out = cwd / f"x11-{index}.mp4"
    started_wall = time.time()
    argv = caprec(command, "record", "-d", "1", "--quiet", "--cursor", "-o", str(out))
    proc = subprocess.Popen(argv, cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu = _wait(proc)
    log = out.with_name(out.stem + ".cursor.ndjson")
    header = json.loads(log.read_text().splitlines()[0])
    return Sample(float(header["first_frame_wall"]) - started_wall, cpu)


def stop_latency(command: Sequence[str], env: dict[str, str], cwd: Path, index: int, seconds: float) -> Sample:
    """SIGINT after ``seconds`` of 720p recording -> caprec exited (file finished and read back)."""
    out = cwd / f"stop-{index}.mp4"
    proc = subprocess.Popen(caprec(command, "record", "--source", "test", "--quiet", "-o", str(out)), cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not out.exists() and proc.poll() is None:
        time.sleep(POLL_S)
    time.sleep(seconds)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    cpu = _wait(proc)
    return Sample(time.monotonic() - started, cpu)


def median(samples: list[Sample]) -> Sample:
    return Sample(statistics.median(s.wall_s for s in samples), statistics.median(s.cpu_s for s in samples))


def measure(label: str, runs: int, once: Callable[[int], Sample], goal: float | None,
            rows: list[tuple[str, str, str, str, str]]) -> None:
    samples = [once(i) for i in range(runs)]
    mid = median(samples)
    spread = f"{min(s.wall_s for s in samples):.3f}-{max(s.wall_s for s in samples):.3f}"
    rows.append((label, f"{mid.wall_s:.3f}", spread, f"{mid.cpu_s:.3f}", "" if goal is None else f"<= {goal:g}"))
    print(f"  {label}: median {mid.wall_s:.3f} s wall ({spread}), {mid.cpu_s:.3f} s CPU", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure; the median is shown (5)")
    parser.add_argument("--stop-seconds", type=float, default=60.0,
                        help="length of the recording that Ctrl-C stops (60, as in the goal)")
    parser.add_argument("--no-x11", action="store_true", help="skip the x11grab start (needs Xvfb)")
    parser.add_argument("--from-source", action="store_true",
                        help="run python -m caprec from this tree instead of installing it in a fresh venv")
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("needs ffmpeg", file=sys.stderr)
        return 1
    rows: list[tuple[str, str, str, str, str]] = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"caprec latency, median of {args.runs} runs; load average {load:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="caprec-latency-") as name:
        workdir = Path(name)
        command = [sys.executable, "-m", "caprec"] if args.from_source else [str(install(workdir))]
        print(f"running: {' '.join(command)}" + ("" if args.from_source else " (pip install of this tree in a fresh "
                                                                              "venv)"), flush=True)
        env = environment(workdir, source=args.from_source)
        run_once(caprec(command, "--help"), env, workdir)  # warm the bytecode cache and the ffmpeg probe cache
        run_once(caprec(command, "record", "--source", "test", "--dry-run", "-o", "warm.mp4"), env, workdir)
        measure("--version", args.runs, lambda i: run_once(caprec(command, "--version"), env, workdir), 0.1, rows)
        # Help pages come from the cache after the first time (cli/ui/helpcache.py); a cache directory that
        # cannot be made (a file in its place) shows the first time, which builds the page.
        (workdir / "no-cache").write_bytes(b"")
        fresh = {"XDG_CACHE_HOME": str(workdir / "no-cache")}
        measure("--help", args.runs, lambda i: run_once(caprec(command, "--help"), env, workdir), 0.2, rows)
        measure("--help (not cached)", args.runs,
                lambda i: run_once(caprec(command, "--help"), env, workdir, extra_env=fresh), 0.2, rows)
        run_once(caprec(command, "record", "--help"), env, workdir)  # cache the page
        measure("record --help", args.runs,
                lambda i: run_once(caprec(command, "record", "--help"), env, workdir), 0.2, rows)
        measure("record --help (not cached)", args.runs,
                lambda i: run_once(caprec(command, "record", "--help"), env, workdir, extra_env=fresh), 0.2, rows)
        completion = {"_CAPREC_COMPLETE": "complete_bash", "COMP_WORDS": "caprec rec", "COMP_CWORD": "1"}
        measure("TAB completion", args.runs,
                lambda i: run_once(caprec(command), env, workdir, extra_env=completion), 0.2, rows)
        option = {"_CAPREC_COMPLETE": "complete_bash", "COMP_WORDS": "caprec record --so", "COMP_CWORD": "2"}
        measure("TAB completion (record --so)", args.runs,
                lambda i: run_once(caprec(command), env, workdir, extra_env=option), 0.2, rows)
        measure("start (test)", args.runs, lambda i: first_bytes(command, env, workdir, i), 0.3, rows)
        if not args.no_x11 and shutil.which("Xvfb"):
            with common.xvfb() as server:
                x_env = environment(workdir, server.display, source=args.from_source)
                measure("start (x11grab)", args.runs, lambda i: x11_first_frame(command, x_env, workdir, i), 0.3, rows)
        measure("1-second recording", args.runs,
                lambda i: run_once(caprec(command, "record", "--source", "test", "-d", "1", "--quiet", "-o",
                                          str(workdir / f"one-{i}.mp4")), env, workdir), 1.6, rows)
        measure(f"stop after {args.stop_seconds:g} s", args.runs,
                lambda i: stop_latency(command, env, workdir, i, args.stop_seconds), 0.5, rows)
    print()
    width = max(len(row[0]) for row in rows)
    print(f"{'':{width}}  median s  range s       CPU s   goal s")
    for label, wall, spread, cpu, goal in rows:
        print(f"{label:{width}}  {wall:>8}  {spread:<12}  {cpu:>6}   {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
