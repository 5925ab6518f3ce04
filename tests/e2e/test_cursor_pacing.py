"""The cursor log samples motion once per video frame; clicks and scrolls stay exact."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from caprec.capture.cursor.reader import read_cursor_log
from support.recording import finish, record_in_background
from support.run import SpawnCaprec
from support.xserver import XServer

pytestmark = [pytest.mark.x11,
              pytest.mark.skipif(shutil.which("xdotool") is None or shutil.which("ffmpeg") is None,
                                 reason="needs xdotool and ffmpeg")]

FPS = 10
MOVES = 600
XDOTOOL_TIMEOUT_S = 60.0


def test_a_busy_pointer_costs_one_read_per_frame(spawn_caprec: SpawnCaprec, xvfb: XServer,
                                                 x_env: dict[str, str], tmp_path: Path) -> None:
    proc, _video, log = record_in_background(spawn_caprec, xvfb, x_env, tmp_path, "--fps", str(FPS),
                                             "--cursor-flush", "0.2")
    # One xdotool process moving the pointer MOVES times as fast as it can, then clicks and scrolls.
    steps: list[str] = []
    for i in range(MOVES):
        steps += ["mousemove", str(100 + i % 400), str(100 + (i * 7) % 300)]
    started = time.monotonic()
    subprocess.run(["xdotool", *steps], env=xvfb.env, check=True, timeout=XDOTOOL_TIMEOUT_S)
    moving_s = time.monotonic() - started
    subprocess.run(["xdotool", "click", "1", "click", "1", "click", "3", "click", "5"], env=xvfb.env, check=True,
                   timeout=XDOTOOL_TIMEOUT_S)
    time.sleep(3 / FPS)  # let the next frame's read see the last position
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    assert code == 0, err
    events = read_cursor_log(log).events
    moves = [e for e in events if e["type"] == "move"]
    # Motion is read at most once per frame (plus slack for timer jitter), far fewer than the X events.
    assert len(moves) <= FPS * (moving_s + 1.0) + 5, (len(moves), moving_s)
    assert len(moves) < MOVES / 2
    assert moves, "no move was logged"
    clicks = [(e["button"], e["pressed"]) for e in events if e["type"] == "click"]
    assert clicks == [("left", True), ("left", False), ("left", True), ("left", False), ("right", True),
                      ("right", False)]
    scrolls = [e for e in events if e["type"] == "scroll"]
    assert len(scrolls) == 1 and scrolls[0]["dy"] == -1


# The pointer rests this long before the move: far past the sampler's IDLE_AFTER_S (0.25 s).
REST_S = 1.5
# A move is logged within one frame of xdotool's warp, plus this much for xdotool's own
# start and exit around the warp (a process start under load) and clock rounding.
IDLE_FPS = 30
SPAWN_SLACK_S = 0.15


def test_the_first_move_after_a_rest_is_exact_and_clicks_at_rest_too(
        spawn_caprec: SpawnCaprec, xvfb: XServer, x_env: dict[str, str], tmp_path: Path) -> None:
    """A resting pointer is not read every frame; its first move is still logged within one frame."""
    subprocess.run(["xdotool", "mousemove", "--sync", "50", "60"], env=xvfb.env, check=True,
                   timeout=XDOTOOL_TIMEOUT_S)
    proc, _video, log = record_in_background(spawn_caprec, xvfb, x_env, tmp_path, "--fps", str(IDLE_FPS),
                                             "--cursor-flush", "0.2")
    spots = [(700, 400), (300, 500), (900, 150)]
    windows: list[tuple[float, float]] = []
    for spot in spots:
        rest = threading.Event()
        rest.wait(REST_S)  # the scenario itself: a pointer left alone
        before = time.time()
        subprocess.run(["xdotool", "mousemove", *map(str, spot)], env=xvfb.env, check=True,
                       timeout=XDOTOOL_TIMEOUT_S)
        windows.append((before, time.time()))
        rest.wait(REST_S)
        # Clicks and a scroll at rest: no move in between, each at the resting spot.
        subprocess.run(["xdotool", "click", "1", "click", "4"], env=xvfb.env, check=True,
                       timeout=XDOTOOL_TIMEOUT_S)
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    assert code == 0, err
    cursor = read_cursor_log(log)
    first_wall = cursor.header["first_frame_wall"]
    events = cursor.events
    for spot, (before, after) in zip(spots, windows, strict=True):
        first = next(e for e in events if e["type"] == "move" and (e["x"], e["y"]) == spot)
        at = first_wall + first["t"] / 1000
        assert before - SPAWN_SLACK_S <= at <= after + 1 / IDLE_FPS + SPAWN_SLACK_S, (spot, at - before, after - before)
    buttons = [(e["type"], e.get("button"), e.get("pressed"), (e["x"], e["y"])) for e in events
               if e["type"] in ("click", "scroll")]
    assert buttons == [event for spot in spots for event in (
        ("click", "left", True, spot), ("click", "left", False, spot), ("scroll", None, None, spot))]
