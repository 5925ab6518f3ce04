"""Windows, for real: gdigrab recordings, stops, pause, recover and the cursor log.

Runs on the hosted Windows runner (an interactive desktop where GDI capture
works); skipped everywhere else. Not run yet: see docs/platforms.md.
"""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.installed import read_json, run_caprec, spawned_caprec
from support.media import ffprobe
from support.polling import wait_until

pytestmark = [pytest.mark.platform,
              pytest.mark.skipif(sys.platform != "win32", reason="needs a Windows desktop")]

FPS = 30
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
FRAME_TOLERANCE = 0.15


def desktop_size() -> tuple[int, int]:
    """The even-sized virtual screen gdigrab records, from caprec's own geometry reader."""
    from caprec.capture.ffmpeg.argv import Backend
    from caprec.capture.platform.displays import pointer_area, read_windows_monitors

    area = pointer_area(backend=Backend.GDIGRAB, device="desktop", region=None, displays=read_windows_monitors())
    return int(area.width), int(area.height)


def grows(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


def test_gdigrab_records_three_seconds_of_the_desktop(tmp_path: Path) -> None:
    done = run_caprec("record", "--duration", "3", "--no-cursor", "-o", "d.mp4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    media = ffprobe(tmp_path / "d.mp4")
    assert (media.width, media.height) == desktop_size()
    assert media.codec == "h264"
    assert abs(media.frames - 3 * FPS) <= 3 * FPS * FRAME_TOLERANCE, media


def test_ctrl_break_stops_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "b.mp4"
    with spawned_caprec("record", "--no-cursor", "-o", "b.mp4", cwd=tmp_path) as proc:
        wait_until(lambda: grows(out), timeout=START_TIMEOUT_S, message="the recording to start")
        proc.send_signal(signal.CTRL_BREAK_EVENT)
        _, err = proc.communicate(timeout=STOP_TIMEOUT_S)
    assert proc.returncode == 0, err.decode(errors="replace")
    assert b"saved" in err
    assert ffprobe(out).frames > 0


def test_the_engine_stops_ffmpeg_with_q(tmp_path: Path) -> None:
    """A stop request (what Ctrl-C/Ctrl-Break ask for) writes q to ffmpeg: exit 0, a finished file."""
    from caprec.capture.record.segment import StopControl
    from caprec.commands.plan import resolve_plan
    from caprec.commands.run import run_plan
    from caprec.env import Environment
    from rich.console import Console

    out = tmp_path / "q.mp4"
    plan = resolve_plan(env=Environment(stdout=io.StringIO(), stderr=io.StringIO()), output=str(out), cursor=False)
    stop = StopControl()

    def stop_once_recording() -> None:
        wait_until(lambda: grows(out), timeout=START_TIMEOUT_S)
        stop.request()

    timer = threading.Thread(target=stop_once_recording)
    timer.start()
    result = run_plan(plan, console=lambda: Console(file=io.StringIO()), quiet=True, stop=stop)
    timer.join()
    assert result.error is None, result.error
    assert ffprobe(out).frames > 0


def test_pause_and_resume(tmp_path: Path) -> None:
    from caprec.capture.record.segment import StopControl
    from caprec.commands.plan import resolve_plan
    from caprec.commands.run import run_plan
    from caprec.env import Environment
    from rich.console import Console

    out, stats = tmp_path / "p.mp4", tmp_path / "stats.json"
    plan = resolve_plan(env=Environment(stdout=io.StringIO(), stderr=io.StringIO()), output=str(out),
                        duration="4", cursor=False)
    stop = StopControl()
    pause_s = 2.0

    def pause_then_resume() -> None:
        wait_until(lambda: grows(out), timeout=START_TIMEOUT_S)
        stop.toggle_pause()
        wait_until(lambda: (read_json(stats) or {}).get("status") == "paused", timeout=START_TIMEOUT_S)
        paused_at = time.monotonic()
        wait_until(lambda: time.monotonic() - paused_at >= pause_s, timeout=pause_s * 2)
        stop.toggle_pause()

    script = threading.Thread(target=pause_then_resume)
    began = time.monotonic()
    script.start()
    result = run_plan(plan, console=lambda: Console(file=io.StringIO()), quiet=True, stop=stop, stats_file=stats)
    script.join()
    assert result.error is None, result.error
    assert time.monotonic() - began >= 4 + pause_s
    media = ffprobe(out)
    assert abs(media.frames - 4 * FPS) <= 4 * FPS * FRAME_TOLERANCE, media


def test_recover_after_a_kill(tmp_path: Path) -> None:
    import psutil

    out = tmp_path / "k.mp4"
    with spawned_caprec("record", "--no-cursor", "-o", "k.mp4", cwd=tmp_path) as proc:
        wait_until(lambda: out.exists() and out.stat().st_size > 200_000, timeout=START_TIMEOUT_S)
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.kill()  # TerminateProcess: no handler runs
        proc.wait()
    # ffmpeg's pipe reader is gone: it exits on the broken pipe.
    _, alive = psutil.wait_procs(children, timeout=STOP_TIMEOUT_S)
    assert alive == [], f"ffmpeg outlived caprec: {alive}"
    done = run_caprec("recover", "k.mp4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ffprobe(out).frames > 0


def test_pointer_moves_land_in_the_cursor_log(tmp_path: Path) -> None:
    from caprec.capture.cursor.reader import read_cursor_log
    from pynput.mouse import Controller

    log = tmp_path / "c.cursor.ndjson"
    targets = [(100, 100), (300, 200), (500, 300)]
    with spawned_caprec("record", "--duration", "6", "--cursor", "-o", "c.mp4", cwd=tmp_path) as proc:
        wait_until(lambda: grows(tmp_path / "c.mp4"), timeout=START_TIMEOUT_S)
        mouse = Controller()  # pynput's own, in this process: caprec's listener sees the moves
        for x, y in targets:
            mouse.position = (x, y)
            wait_until(lambda x=x, y=y: mouse.position == (x, y), timeout=5.0)
        _, err = proc.communicate(timeout=STOP_TIMEOUT_S)
    assert proc.returncode == 0, err.decode(errors="replace")
    cursor = read_cursor_log(log)
    header = cursor.header
    assert (header["unit"], header["scale"], header["source"]) == ("pixels", 1, "gdigrab")
    width, height = desktop_size()
    assert (header["region"]["width"], header["region"]["height"]) == (width, height)
    seen = {(e["x"], e["y"]) for e in cursor.events if e["type"] == "move"}
    origin = (header["region"]["x"], header["region"]["y"])
    for x, y in targets:
        assert (x - origin[0], y - origin[1]) in seen, (x, y, sorted(seen)[:20])


def test_gdigrab_argv_really_runs(tmp_path: Path) -> None:
    """The exact argv the unit tests pin opens gdigrab here (no caprec in between)."""
    from caprec.capture.ffmpeg.argv import Backend, Encoding, VideoSource, build_record_argv

    argv = build_record_argv(VideoSource(Backend.GDIGRAB), Encoding(duration=1), ffmpeg_path="ffmpeg",
                             output=str(tmp_path / "a.mp4"))
    done = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=START_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert ffprobe(tmp_path / "a.mp4").frames > 0
