"""macOS, for real: screens listed by name, a recording in pixels, the cursor log in points.

Runs on the hosted macOS runner (Screen Recording pre-granted there);
skipped everywhere else. Not run yet: see docs/platforms.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from support.installed import run_caprec, spawned_caprec
from support.media import ffprobe
from support.polling import wait_until

pytestmark = [pytest.mark.platform,
              pytest.mark.skipif(sys.platform != "darwin", reason="needs a macOS desktop")]

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0


def main_display():  # type: ignore[no-untyped-def]
    from caprec.capture.platform.displays import read_quartz_displays

    return read_quartz_displays()[0]


def test_devices_lists_screens_by_name_with_their_pixels(tmp_path: Path) -> None:
    done = run_caprec("devices", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    screens = [d for d in json.loads(done.stdout) if d["kind"] == "screen"]
    assert screens and screens[0]["id"] == "Capture screen 0" == screens[0]["name"]
    display = main_display()
    assert (screens[0]["width"], screens[0]["height"]) == (display.pixel_width, display.pixel_height)


def test_doctor_answers_the_permission_question(tmp_path: Path) -> None:
    done = run_caprec("doctor", "--json", cwd=tmp_path)
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["screen recording permission"]["status"] in ("pass", "fail")  # asked, not guessed


def test_capture_screen_0_in_pixels_and_the_cursor_log_in_points(tmp_path: Path) -> None:
    from caprec.capture.cursor.reader import read_cursor_log
    from pynput.mouse import Controller

    display = main_display()
    out, log = tmp_path / "m.mp4", tmp_path / "m.cursor.ndjson"
    targets = [(display.x + 100, display.y + 80), (display.x + 300, display.y + 200)]
    with spawned_caprec("record", "--display", "Capture screen 0", "--duration", "6", "--cursor", "-o", "m.mp4",
                        cwd=tmp_path) as proc:
        wait_until(lambda: out.exists() and out.stat().st_size > 0, timeout=START_TIMEOUT_S)
        mouse = Controller()  # pynput's own, in this process: caprec's listener sees the moves
        for x, y in targets:
            mouse.position = (x, y)
            wait_until(lambda x=x, y=y: tuple(map(round, mouse.position)) == (round(x), round(y)), timeout=5.0)
        _, err = proc.communicate(timeout=STOP_TIMEOUT_S)
    assert proc.returncode == 0, err.decode(errors="replace")
    media = ffprobe(out)
    # The video is in pixels (even-cropped), the pointer in points.
    assert (media.width, media.height) == (display.pixel_width - display.pixel_width % 2,
                                           display.pixel_height - display.pixel_height % 2)
    header = read_cursor_log(log).header
    assert header["unit"] == "points" and header["scale"] == pytest.approx(display.pixel_width / display.width)
    assert header["region"]["x"] == display.x and header["region"]["y"] == display.y
    events = [e for e in read_cursor_log(log).events if e["type"] == "move"]
    seen = {(round(e["x"]), round(e["y"])) for e in events}
    assert (100, 80) in seen and (300, 200) in seen, sorted(seen)[:20]
