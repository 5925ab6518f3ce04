"""Buttons and scrolls in the cursor log, decoded from X RECORD data with struct: exact times and places."""

from __future__ import annotations

import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest
from caprec.capture.cursor.reader import read_cursor_log
from caprec.capture.cursor.x11 import decode_buttons
from support.recording import finish, record_in_background
from support.run import SpawnCaprec
from support.xserver import XServer

XDOTOOL_TIMEOUT_S = 30.0
# A button is logged when its event reaches caprec: within this of xdotool's run (its start and exit
# under load, clock rounding), whatever the frame rate.
BUTTON_SLACK_S = 0.15
FPS = 10
# X11 core event codes and the layout of a button event (X11 protocol, "Events").
BUTTON_PRESS, BUTTON_RELEASE, MOTION_NOTIFY = 4, 5, 6
SEND_EVENT = 0x80
EVENT = struct.Struct("=BBHIIIIhhhhHBx")


def event(kind: int, detail: int, x: int, y: int) -> bytes:
    return EVENT.pack(kind, detail, 7, 1234, 0x100, 0x100, 0, x, y, x, y, 0, 1)


def test_decode_buttons_reads_presses_and_releases_and_stops_at_anything_else() -> None:
    data = (event(BUTTON_PRESS, 1, 10, 20) + event(BUTTON_RELEASE | SEND_EVENT, 3, -5, 700)
            + event(MOTION_NOTIFY, 0, 1, 2) + event(BUTTON_PRESS, 2, 3, 4))
    assert len(data) == 4 * 32
    events, offset = decode_buttons(data)
    assert events == [(True, 1, 10, 20, False), (False, 3, -5, 700, True)]
    assert offset == 64  # the motion event and what follows are left to python-xlib's parser


def test_decode_buttons_leaves_a_short_tail() -> None:
    data = event(BUTTON_PRESS, 5, 1, 1) + b"\x04" * 8
    assert decode_buttons(data) == ([(True, 5, 1, 1, False)], 32)
    assert decode_buttons(b"") == ([], 0)


@pytest.mark.x11
@pytest.mark.skipif(shutil.which("xdotool") is None or shutil.which("ffmpeg") is None,
                    reason="needs xdotool and ffmpeg")
def test_every_button_and_scroll_is_logged_at_its_place_and_time(
        spawn_caprec: SpawnCaprec, xvfb: XServer, x_env: dict[str, str], tmp_path: Path) -> None:
    proc, _video, log = record_in_background(spawn_caprec, xvfb, x_env, tmp_path, "--fps", str(FPS),
                                             "--cursor-flush", "0.2")
    # (place, xdotool button): left, middle, right, then the four scroll directions.
    actions = [((100, 110), 1), ((1200, 50), 2), ((640, 700), 3), ((5, 5), 4), ((333, 444), 5),
               ((800, 300), 6), ((1000, 600), 7)]
    windows: list[tuple[float, float]] = []
    for (x, y), button in actions:
        subprocess.run(["xdotool", "mousemove", "--sync", str(x), str(y)], env=xvfb.env, check=True,
                       timeout=XDOTOOL_TIMEOUT_S)
        before = time.time()
        subprocess.run(["xdotool", "click", str(button)], env=xvfb.env, check=True, timeout=XDOTOOL_TIMEOUT_S)
        windows.append((before, time.time()))
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    assert code == 0, err
    cursor = read_cursor_log(log)
    first_wall = cursor.header["first_frame_wall"]
    logged = [e for e in cursor.events if e["type"] in ("click", "scroll")]
    expected = [("click", "left", True), ("click", "left", False), ("click", "middle", True),
                ("click", "middle", False), ("click", "right", True), ("click", "right", False),
                ("scroll", 0, 1), ("scroll", 0, -1), ("scroll", -1, 0), ("scroll", 1, 0)]
    kinds = [(e["type"], e["button"], e["pressed"]) if e["type"] == "click" else (e["type"], e["dx"], e["dy"])
             for e in logged]
    assert kinds == expected
    # Each event at its action's place and within its action's time window.
    per_action = [2, 2, 2, 1, 1, 1, 1]
    position = 0
    for ((x, y), _button), (before, after), count in zip(actions, windows, per_action, strict=True):
        for e in logged[position:position + count]:
            assert (e["x"], e["y"]) == (x, y), e
            at = first_wall + e["t"] / 1000
            assert before - BUTTON_SLACK_S <= at <= after + BUTTON_SLACK_S, (e, at - before, after - before)
        position += count
