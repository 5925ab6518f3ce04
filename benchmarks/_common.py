"""Shared helpers for caprec's benchmarks (Linux only).

* :func:`xvfb` starts an Xvfb on a display number it picks itself
  (``Xvfb -displayfd``), so a benchmark never collides with a desktop or
  with the tests' displays.
* :func:`animator` runs a small X client that keeps the screen busy in a
  deterministic way (scrolling text, changing rectangles, a moving pointer),
  so the encoder has real work and two runs see the same kind of content.
  Run directly: ``python benchmarks/_common.py animate :N``.
* :func:`run_measured` runs a command and measures its whole process tree:
  CPU from ``os.wait4`` (which on Linux includes every descendant the child
  reaped), plus a /proc sampler that follows the child and its children
  (CPU, peak RSS, when each one appeared and left).
* :func:`source_env` makes ``python -m caprec`` run a given source tree (this
  checkout, or an older revision's extracted tree) whatever is installed.
* Machine facts, ffprobe frame counts, FFmpeg ``-progress`` parsing.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import platform
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE = 4096
MB = 1e6
SAMPLE_INTERVAL_S = 0.05
# How long a helper process gets to exit after SIGTERM before it is killed.
END_TIMEOUT_S = 5.0


REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- the tree under test


def source_env(tree: Path = REPO) -> dict[str, str]:
    """The PYTHONPATH under which ``python -m caprec`` runs the source tree ``tree``.

    Installed, cli/ is the package ``caprec`` and capture/ is ``caprec.capture``
    (pyproject.toml's package-dir); here a temporary import root lays ``tree``
    out the same way with symbolic links (removed at exit). ``tree`` itself
    follows it on the path, so a tree from before that namespace (which
    imports ``cli`` and ``capture``) runs too.
    """
    root = Path(tempfile.mkdtemp(prefix="caprec-import-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    package = root / "caprec"
    package.mkdir()
    for entry in (tree / "cli").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "capture").symlink_to(tree / "capture", target_is_directory=True)
    return {"PYTHONPATH": os.pathsep.join([str(root), str(tree)])}


# --------------------------------------------------------------------------- Xvfb


@dataclass(frozen=True)
class XServer:
    display: str  # ":N"
    pid: int


@contextlib.contextmanager
def xvfb(size: str = "1280x720", depth: int = 24, timeout: float = 10.0) -> Iterator[XServer]:
    """Start Xvfb on a free display and yield it (``.display`` is ``":N"``); stop it on exit.

    Xvfb chooses the display number itself and writes it to the descriptor
    given with ``-displayfd`` once it accepts connections.
    """
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{size}x{depth}", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    os.close(write_fd)
    try:
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([read_fd], [], [], max(0.0, left))
            if not ready:
                raise RuntimeError(f"Xvfb did not report a display within {timeout:g} s")
            chunk = os.read(read_fd, 64)
            if not chunk:
                err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
                raise RuntimeError(f"Xvfb exited before reporting a display: {err.strip()[-500:]}")
            data += chunk
        yield XServer(display=f":{int(data.strip())}", pid=proc.pid)
    finally:
        os.close(read_fd)
        end_process(proc)


def end_process(proc: subprocess.Popen[bytes], *, signum: int = signal.SIGTERM,
                timeout: float = END_TIMEOUT_S) -> None:
    """Stop a process with ``signum`` (a helper: SIGTERM; caprec: SIGINT), kill it if it lingers, reap it."""
    proc.send_signal(signum)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stderr:
        proc.stderr.close()


# ----------------------------------------------------------------------- animator


def animate(display: str, *, seed: int = 1, rate: float = 30.0, seconds: float | None = None) -> None:
    """Keep ``display`` busy until killed (or for ``seconds``): the body of the animator process.

    Left half: terminal-like text scrolling 4 px per tick. Right half: a
    batch of random rectangles each tick. The pointer moves in a circle
    (x11grab draws it). Content depends on the tick number only, so a given
    ``seed`` gives the same frames whatever the timing.
    """
    import math
    import random

    from Xlib import X
    from Xlib import display as xdisplay

    rng = random.Random(seed)
    conn = xdisplay.Display(display)
    screen = conn.screen()
    width, height = screen.width_in_pixels, screen.height_in_pixels
    root = screen.root
    win = root.create_window(0, 0, width, height, 0, screen.root_depth, X.InputOutput, X.CopyFromParent,
                             background_pixel=screen.black_pixel, override_redirect=True)
    win.map()
    gc = win.create_gc(foreground=screen.white_pixel, background=screen.black_pixel)
    try:
        font = conn.open_font("fixed")
        gc.change(font=font)
        has_font = True
    except Exception:
        has_font = False
    conn.sync()
    half = width // 2
    line_h = 14
    words = ["record", "ffmpeg", "x11grab", "libx264", "frame", "pipe", "pump", "caprec", "0x7f3a", "fps=30",
             "drop=0", "q=23", "size=", "bitrate", "speed=1.0x", "error", "warning", "done", "[info]", "->"]
    period = 1.0 / rate
    start = time.monotonic()
    tick = 0
    scroll = 4
    pending = 0
    while seconds is None or time.monotonic() - start < seconds:
        # Text area: scroll up, and write a new line every few ticks.
        win.copy_area(gc, win, 0, scroll, half, height - scroll, 0, 0)
        gc.change(foreground=screen.black_pixel)
        win.fill_rectangle(gc, 0, height - scroll, half, scroll)
        pending += scroll
        if pending >= line_h:
            pending = 0
            gc.change(foreground=rng.choice((0xD0D0D0, 0x7FFF7F, 0xFFD070, 0x80B0FF)))
            line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 9)))
            text = f"{tick:06d} {line}"[:90]
            if has_font:
                win.draw_text(gc, 4, height - 3, text.encode())
            else:
                win.fill_rectangle(gc, 4, height - 12, 6 * len(text), 9)
        # Rectangle area: a batch of random filled rectangles.
        for _ in range(12):
            gc.change(foreground=rng.randrange(0x1000000))
            x = half + rng.randrange(half - 40)
            y = rng.randrange(height - 40)
            win.fill_rectangle(gc, x, y, rng.randint(8, 200), rng.randint(8, 140))
        # Pointer: a circle around the centre, one turn every 4 s.

        angle = 2 * math.pi * tick / (4 * rate)
        root.warp_pointer(int(width / 2 + 250 * math.cos(angle)), int(height / 2 + 200 * math.sin(angle)))
        conn.flush()
        tick += 1
        delay = start + tick * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1.0:  # fell far behind: skip ahead rather than burst
            start = time.monotonic() - tick * period
        if tick % rate == 0:
            conn.sync()  # let the server catch up: bounded request backlog


@contextlib.contextmanager
def animator(display: str, *, seed: int = 1, warmup: float = 1.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run :func:`animate` in its own process while the block runs."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "animate", display, "--seed", str(seed)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    time.sleep(warmup)
    if proc.poll() is not None:
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        raise RuntimeError(f"the animator died: {err.strip()[-800:]}")
    try:
        yield proc
    finally:
        end_process(proc)


# ------------------------------------------------------------------- /proc reading


@dataclass(frozen=True)
class ProcStat:
    state: str
    ppid: int
    cpu_s: float  # utime + stime of the process (all its threads)
    children_cpu_s: float  # cutime + cstime: reaped descendants


def read_stat(pid: int) -> ProcStat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = raw[raw.rfind(")") + 2:].split()
    # rest[0] is field 3 (state); field n is rest[n - 3].
    utime, stime, cutime, cstime = (int(v) for v in rest[11:15])
    return ProcStat(state=rest[0], ppid=int(rest[1]), cpu_s=(utime + stime) / CLK_TCK,
                    children_cpu_s=(cutime + cstime) / CLK_TCK)


def read_status_kb(pid: int, keys: Sequence[str] = ("VmHWM", "VmRSS")) -> dict[str, int]:
    """Selected ``kB`` fields of /proc/<pid>/status (empty for a zombie)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle.read().decode("ascii", "replace").splitlines():
                name, _, value = line.partition(":")
                if name in keys:
                    out[name] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def read_cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def children_of(pid: int) -> set[int]:
    """Direct children of ``pid`` (every thread's ``children`` file)."""
    kids: set[int] = set()
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                kids.update(int(v) for v in handle.read().split())
        except OSError:
            continue
    return kids


@dataclass
class ProcTrack:
    """What the sampler saw of one process."""

    pid: int
    argv: list[str]
    first_seen: float
    last_seen: float
    cpu_s: float = 0.0
    hwm_kb: int = 0
    rss_max_kb: int = 0
    children_cpu_s: float = 0.0
    last_state: str = "?"
    # (monotonic time, own CPU seconds, reaped children's CPU seconds) at every sample.
    timeline: list[tuple[float, float, float]] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """True when the last sample saw the zombie: its CPU is then final, not a lower bound."""
        return self.last_state == "Z"

    def cpu_at(self, when: float) -> float:
        """Own CPU at monotonic time ``when`` (the last sample at or before it)."""
        value = 0.0
        for t, cpu, _ in self.timeline:
            if t > when:
                break
            value = cpu
        return value

    def reaped_jump_after(self, when: float) -> tuple[float, float] | None:
        """(increase of reaped children's CPU, seconds between the samples) across ``when``.

        A child last seen at ``when`` and reaped just after shows up as a jump
        of cutime+cstime between the sample at ``when`` and the next one:
        that jump is the child's exact CPU if nothing else was reaped between.
        """
        before = None
        for t, _, kids in self.timeline:
            if t <= when:
                before = (t, kids)
            elif before is not None:
                return kids - before[1], t - before[0]
        return None


class TreeSampler:
    """Polls /proc for a process and all its descendants on a thread of its own."""

    def __init__(self, root_pid: int, interval: float = SAMPLE_INTERVAL_S) -> None:
        self.root_pid = root_pid
        self.interval = interval
        self.tracks: dict[int, ProcTrack] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def _sample(self, pid: int, now: float) -> None:
        stat = read_stat(pid)
        if stat is None:
            return
        track = self.tracks.get(pid)
        if track is None:
            track = self.tracks[pid] = ProcTrack(pid=pid, argv=read_cmdline(pid), first_seen=now, last_seen=now)
        if not track.argv:
            track.argv = read_cmdline(pid)
        track.last_seen = now
        track.last_state = stat.state
        track.cpu_s = max(track.cpu_s, stat.cpu_s)
        track.children_cpu_s = max(track.children_cpu_s, stat.children_cpu_s)
        track.timeline.append((now, track.cpu_s, track.children_cpu_s))
        mem = read_status_kb(pid)
        track.hwm_kb = max(track.hwm_kb, mem.get("VmHWM", 0))
        track.rss_max_kb = max(track.rss_max_kb, mem.get("VmRSS", 0))
        for kid in children_of(pid):
            self._sample(kid, now)

    def _run(self) -> None:
        while True:
            self._sample(self.root_pid, time.monotonic())
            if self._stop.wait(self.interval):
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def find(self, predicate: Any) -> list[ProcTrack]:
        return [t for t in self.tracks.values() if t.pid != self.root_pid and predicate(t.argv)]


@dataclass
class Measured:
    """A command run to completion, with its whole tree measured."""

    argv: list[str]
    returncode: int
    wall_s: float
    user_s: float  # os.wait4 rusage: the child plus every descendant it reaped
    sys_s: float
    maxrss_kb: int  # wait4 ru_maxrss: the max over the child and its reaped descendants
    # The child's /proc/<pid>/stat read as a zombie (exited, not yet reaped): exact.
    zombie_self_cpu_s: float | None
    zombie_children_cpu_s: float | None
    # CPU time every process on the machine used during the run (/proc/stat), for contention.
    machine_busy_s: float | None
    sampler: TreeSampler
    started: float
    ended: float

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    @property
    def root(self) -> ProcTrack:
        return self.sampler.tracks[self.sampler.root_pid]


def run_measured(argv: Sequence[str], *, stdout: Any = subprocess.DEVNULL, stderr: Any = subprocess.DEVNULL,
                 stdin: Any = subprocess.PIPE, env: dict[str, str] | None = None,
                 timeout: float = 300.0) -> Measured:
    """Run ``argv`` and return its wall time, its tree's CPU and the sampler's view.

    CPU is ``os.wait4``'s rusage of the child: on Linux that is the child's
    own time plus that of every descendant it waited for. Before reaping,
    the exited child's /proc/<pid>/stat is read once more (a zombie keeps
    its own and its reaped children's times there), which splits the total
    into the child's own CPU and its children's. ``stdin`` defaults to a
    pipe that stays open and silent, as caprec gives FFmpeg.
    """
    busy_before = machine_busy_s()
    started = time.monotonic()
    proc = subprocess.Popen(list(argv), stdin=stdin, stdout=stdout, stderr=stderr, env=env)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    deadline = started + timeout
    try:
        while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
            if time.monotonic() > deadline:
                proc.kill()
            time.sleep(0.005)
        ended = time.monotonic()
        busy_after = machine_busy_s()
    finally:
        sampler.stop()
    zombie = read_stat(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
    if proc.stdin:
        proc.stdin.close()
    return Measured(argv=list(argv), returncode=proc.returncode, wall_s=ended - started,
                    user_s=usage.ru_utime, sys_s=usage.ru_stime, maxrss_kb=usage.ru_maxrss,
                    zombie_self_cpu_s=zombie.cpu_s if zombie else None,
                    zombie_children_cpu_s=zombie.children_cpu_s if zombie else None,
                    machine_busy_s=None if busy_before is None or busy_after is None else busy_after - busy_before,
                    sampler=sampler, started=started, ended=ended)


def machine_busy_s() -> float | None:
    """CPU seconds all CPUs have spent busy since boot (/proc/stat: all but idle and iowait)."""
    try:
        with open("/proc/stat", "rb") as handle:
            fields = handle.readline().split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(values) - values[3] - values[4]) / CLK_TCK


# ------------------------------------------------------------------ media & facts


@dataclass(frozen=True)
class FrameCount:
    frames: int | None
    duration_s: float | None
    error: str | None = None


def count_frames(path: Path, ffprobe: str = "ffprobe") -> FrameCount:
    """Decode ``path`` with ffprobe ``-count_frames``: nb_read_frames of the first video stream."""
    argv = [ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
            "-show_entries", "stream=nb_read_frames:format=duration", "-of", "default=nw=1", str(path)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    frames = values.get("nb_read_frames")
    duration = values.get("duration")
    return FrameCount(frames=int(frames) if frames and frames.isdigit() else None,
                      duration_s=float(duration) if duration and duration != "N/A" else None,
                      error=result.stderr.strip()[-300:] or None)


def last_progress(text: str) -> dict[str, str]:
    """The last complete ``-progress`` block in FFmpeg's stderr text."""
    block: dict[str, str] = {}
    last: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_0-9]+)=(.*)$", line.strip())
        if not match:
            continue
        block[match[1]] = match[2].strip()
        if match[1] == "progress":
            last, block = block, {}
    return last


def ffmpeg_version(path: str) -> str:
    try:
        out = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except OSError as exc:
        return f"unavailable ({exc})"
    return out.splitlines()[0] if out else "unknown"


def machine_facts() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    pipe_max = "unknown"
    with contextlib.suppress(OSError):
        pipe_max = Path("/proc/sys/fs/pipe-max-size").read_text().strip()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "nproc": str(affinity),
        "cpu": model,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "pipe-max-size": pipe_max,
    }


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def quote(argv: Sequence[str]) -> str:
    return shlex.join(list(argv))


def mb(value: float) -> str:
    return f"{value / MB:.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Benchmark helpers: run the screen animator.")
    sub = parser.add_subparsers(dest="command", required=True)
    anim = sub.add_parser("animate", help="keep an X display busy until killed")
    anim.add_argument("display")
    anim.add_argument("--seed", type=int, default=1)
    anim.add_argument("--rate", type=float, default=30.0)
    anim.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args(argv)
    if args.command == "animate":
        import signal

        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        animate(args.display, seed=args.seed, rate=args.rate, seconds=args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
