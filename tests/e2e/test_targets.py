"""Capture targets end to end: a window (by id, name, pick), a monitor of several, a region dragged with the
mouse, the pointer followed; and the refusals, each one line, exit 2, nothing created.

A private Xvfb with two X screens (``:N.0`` 640x480 red, ``:N.1`` 320x240 blue) stands in for two monitors:
this Xvfb ignores ``xrandr --setmonitor`` and its Xinerama puts both heads at 0,0, while separate X screens
are real, separately addressable outputs. Windows are real X windows made here with python-xlib, of a known
colour and title; xdotool clicks and drags during the picks.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import Backend, Encoding, VideoSource, build_record_argv
from caprec.capture.platform.targets import choose_monitor, choose_window, default_monitor, even_region, x11_monitors
from caprec.capture.platform.x11info import XWindow
from caprec.capture.platform.x11wire import XMonitor, XScreen
from caprec.capture.units import Region
from support.env import scrubbed_environ
from support.media import ffprobe
from support.mp4 import mp4_top_level_boxes
from support.polling import wait_until
from support.process import kill_if_running, terminate_and_reap
from support.run import RunCaprec, SpawnCaprec
from support.xserver import read_display_number, start_xvfb

SCREENS = ("640x480x24", "320x240x24")
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 200, 0)
WINDOW_GEOMETRY = (201, 151, 40, 60)  # odd size: the video trims it to even
RUN_TIMEOUT_S = 60.0
PROMPT_TIMEOUT_S = 30.0
FF = "/usr/bin/ffmpeg"


# -- pure choices -------------------------------------------------------------

def _screens() -> list[XScreen]:
    return [XScreen(0, 3840, 1080, (XMonitor("DP-1", 0, 0, 1920, 1080), XMonitor("HDMI-1", 1920, 0, 1920, 1080,
                                                                                 primary=True))),
            XScreen(1, 800, 600)]


def test_monitors_number_each_randr_monitor_then_bare_screens() -> None:
    monitors = x11_monitors(":0", _screens())
    assert [m.label for m in monitors] == ["0 DP-1 1920x1080+0+0 on :0.0",
                                           "1 HDMI-1 1920x1080+1920+0 on :0.0 (primary)",
                                           "2 screen1 800x600+0+0 on :0.1"]
    assert monitors[1].region == Region(1920, 1080, 1920, 0) and monitors[2].region is None
    assert default_monitor(monitors, ":0.0") == monitors[1]  # the primary of several
    assert default_monitor(monitors, ":0.1") is None  # one monitor: the whole screen
    assert choose_monitor("hdmi-1", monitors, origin="--screen") == monitors[1]
    assert choose_monitor(":0.1", monitors, origin="--screen") == monitors[2]
    assert choose_monitor("all", monitors, origin="--screen") is None


@pytest.mark.parametrize(("choice", "message"), [
    ("3", "--screen: there is no monitor 3; monitors here: 0 DP-1 1920x1080+0+0 on :0.0; 1 HDMI-1"),
    ("VGA", "--screen: no monitor is called 'VGA'; monitors here: 0 DP-1"),
])
def test_a_monitor_that_does_not_exist_lists_them(choice: str, message: str) -> None:
    with pytest.raises(SettingError) as caught:
        choose_monitor(choice, x11_monitors(":0", _screens()), origin="--screen")
    assert str(caught.value).startswith(message)


def test_windows_match_title_then_class_then_part_of_a_title() -> None:
    windows = [XWindow(1, "Terminal", "XTerm", 0, 0, 10, 10), XWindow(2, "vim notes", "XTerm", 0, 0, 10, 10),
               XWindow(3, "Notes", "Gedit", 0, 0, 10, 10)]
    assert choose_window("notes", windows, origin="--window").id == 3  # the exact title wins over a part
    assert choose_window("gedit", windows, origin="--window").id == 3
    with pytest.raises(SettingError, match=r"'xterm' matches 2 windows; give one's id: 0x1 'Terminal'"):
        choose_window("xterm", windows, origin="--window")


def test_a_picked_region_is_rounded_down_to_even_sizes() -> None:
    assert str(even_region(Region(201, 121, 100, 80), origin="--region")) == "200x120+100+80"
    with pytest.raises(SettingError, match="too small"):
        even_region(Region(1, 9, 0, 0), origin="--region")


def test_window_and_follow_mouse_argv() -> None:
    window = build_record_argv(VideoSource(Backend.X11GRAB, device=":1.0", window_id=0x200000B), Encoding(),
                               ffmpeg_path=FF)
    assert window[:12] == [FF, "-f", "x11grab", "-draw_mouse", "1", "-fpsprobesize", "0", "-framerate", "30",
                           "-window_id", "0x200000b", "-i"]
    follow = build_record_argv(VideoSource(Backend.X11GRAB, device=":1.0", region=Region(320, 240),
                                           follow_mouse=True), Encoding(), ffmpeg_path=FF)
    assert follow[:15] == [FF, "-f", "x11grab", "-video_size", "320x240", "-draw_mouse", "1", "-follow_mouse",
                           "centered", "-fpsprobesize", "0", "-framerate", "30", "-i", ":1.0+0,0"]


def test_gdigrab_window_by_title_argv() -> None:
    source = VideoSource(Backend.GDIGRAB, device="title=Untitled - Notepad")
    assert build_record_argv(source, Encoding(), ffmpeg_path=FF)[:9] == [
        FF, "-f", "gdigrab", "-draw_mouse", "1", "-framerate", "30", "-i", "title=Untitled - Notepad"]


# -- a real display --------------------------------------------------------------

class Desktop:
    """The private two-screen Xvfb, and windows drawn on its first screen."""

    def __init__(self, display: str, env: dict[str, str]) -> None:
        from Xlib import display as xdisplay

        self.display = display
        self.env = env
        self.conn: Any = xdisplay.Display(f"{display}.0")

    def window(self, title: str, rgb: tuple[int, int, int] = GREEN) -> Any:
        width, height, x, y = WINDOW_GEOMETRY
        screen = self.conn.screen()
        pixel = screen.default_colormap.alloc_color(*(c * 257 for c in rgb)).pixel
        window = screen.root.create_window(x, y, width, height, 0, screen.root_depth, background_pixel=pixel,
                                           override_redirect=True)
        window.set_wm_name(title)
        window.map()
        self.conn.sync()
        return window

    def xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True, timeout=10)


@pytest.fixture(scope="module")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    log = tmp_path_factory.mktemp("xvfb-targets") / "xvfb.log"
    with start_xvfb(*SCREENS, log=log) as (_, display):
        env = {**scrubbed_environ(), "DISPLAY": display}
        for number, colour in enumerate(("red", "blue")):
            subprocess.run(["xsetroot", "-display", f"{display}.{number}", "-solid", colour], check=True, timeout=10)
        found = Desktop(display, env)
        yield found
        found.conn.close()


@pytest.fixture
def env_for(caprec_env: dict[str, str], desktop: Desktop) -> dict[str, str]:
    return {**caprec_env, "DISPLAY": desktop.display}


def mean_rgb(path: Path) -> np.ndarray[Any, Any]:
    """The average colour of the video's middle frame region (first decoded frame)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True, timeout=30).stdout
    probe = ffprobe(path)
    assert probe.width and probe.height
    frame = np.frombuffer(raw, np.uint8).reshape(probe.height, probe.width, 3)
    return frame.reshape(-1, 3).mean(axis=0)


def close_to(rgb: np.ndarray[Any, Any], expected: tuple[int, int, int], tolerance: float = 40.0) -> bool:
    return bool(np.abs(rgb - np.array(expected)).max() < tolerance)


@pytest.mark.parametrize(("screen", "size", "colour"), [("1", (320, 240), BLUE), (":{}.0", (640, 480), RED)])
def test_screen_records_only_that_monitor(screen: str, size: tuple[int, int], colour: tuple[int, int, int],
                                          desktop: Desktop, env_for: dict[str, str], run_caprec: RunCaprec,
                                          tmp_path: Path) -> None:
    out = tmp_path / "mon.mp4"
    result = run_caprec(["record", "--screen", screen.format(desktop.display.lstrip(":")), "-d", "1", "-q",
                         "--fps", "10", "-o", str(out)], cwd=tmp_path, env=env_for)
    assert result.returncode == 0, result.stderr
    probe = ffprobe(out)
    assert (probe.width, probe.height) == size and probe.frames >= 5
    assert close_to(mean_rgb(out), colour)


def test_devices_lists_each_monitor(desktop: Desktop, env_for: dict[str, str], run_caprec: RunCaprec,
                                    tmp_path: Path) -> None:
    result = run_caprec(["devices", "--json"], cwd=tmp_path, env=env_for)
    assert result.returncode == 0, result.stderr
    screens = [(d["id"], d["name"], d["width"], d["height"]) for d in json.loads(result.stdout)
               if d["kind"] == "screen"]
    base = desktop.display
    assert screens == [(f"{base}.0", "X screen 0, --screen 0", 640, 480),
                       (f"{base}.1", "X screen 1, --screen 1", 320, 240)]


def test_window_by_name_records_its_pixels_and_logs_the_cursor_relative_to_it(
        desktop: Desktop, env_for: dict[str, str], run_caprec: RunCaprec, tmp_path: Path) -> None:
    window = desktop.window("caprec green")
    try:
        out = tmp_path / "win.mp4"
        result = run_caprec(["record", "--cursor", "--window", "caprec green", "-d", "1", "-q", "--fps", "10",
                             "-o", str(out)],
                            cwd=tmp_path, env=env_for)
        assert result.returncode == 0, result.stderr
        probe = ffprobe(out)
        assert (probe.width, probe.height) == (200, 150)
        assert close_to(mean_rgb(out), GREEN)
        header = json.loads((tmp_path / "win.cursor.ndjson").read_text().splitlines()[0])
        _, _, x, y = WINDOW_GEOMETRY
        assert header["region"] == {"x": x, "y": y, "width": 200, "height": 150}
        by_id = run_caprec(["record", "--window", hex(window.id), "-d", "0.5", "-q", "-o", str(tmp_path / "id.mp4")],
                           cwd=tmp_path, env=env_for)
        assert by_id.returncode == 0, by_id.stderr
        assert (ffprobe(tmp_path / "id.mp4").width, ffprobe(tmp_path / "id.mp4").height) == (200, 150)
    finally:
        window.destroy()
        desktop.conn.sync()


def _read_prompt(proc: subprocess.Popen[bytes], words: str) -> str:
    assert proc.stderr is not None
    line = wait_until(proc.stderr.readline, PROMPT_TIMEOUT_S, message=f"the prompt {words!r}").decode()
    assert words in line, line
    return line


def test_window_pick_records_the_clicked_window(desktop: Desktop, env_for: dict[str, str],
                                                spawn_caprec: SpawnCaprec, tmp_path: Path) -> None:
    window = desktop.window("caprec pick me", rgb=GREEN)
    try:
        out = tmp_path / "picked.mp4"
        proc = spawn_caprec(["record", "--window", "pick", "-d", "1", "--fps", "10", "-o", str(out)], cwd=tmp_path,
                            env=env_for)
        _read_prompt(proc, "click the window")
        desktop.xdotool("mousemove", "100", "100", "click", "1")
        assert proc.wait(timeout=RUN_TIMEOUT_S) == 0
        probe = ffprobe(out)
        assert (probe.width, probe.height) == (200, 150) and close_to(mean_rgb(out), GREEN)
    finally:
        window.destroy()
        desktop.conn.sync()


@pytest.mark.parametrize(("target", "keys"), [
    ("--window", ("key", "Escape")), ("--window", ("click", "3")), ("--region", ("key", "Escape")),
])
def test_a_cancelled_pick_is_one_line_exit_2_and_creates_nothing(
        target: str, keys: tuple[str, ...], desktop: Desktop, env_for: dict[str, str], spawn_caprec: SpawnCaprec,
        tmp_path: Path) -> None:
    proc = spawn_caprec(["record", target, "pick", "-d", "1", "-o", str(tmp_path / "no.mp4")], cwd=tmp_path,
                        env=env_for)
    _read_prompt(proc, "Escape or a right click cancels")
    desktop.xdotool(*keys)
    assert proc.wait(timeout=RUN_TIMEOUT_S) == 2
    assert proc.stderr is not None
    rest = proc.stderr.read().decode().strip().splitlines()
    assert len(rest) == 1 and rest[0].startswith(f"error: {target}: pick: the pick was cancelled"), rest
    assert list(tmp_path.iterdir()) == []


def test_region_pick_drags_a_rectangle_rounds_it_and_prints_it(desktop: Desktop, env_for: dict[str, str],
                                                                spawn_caprec: SpawnCaprec, tmp_path: Path) -> None:
    out = tmp_path / "drag.mp4"
    proc = spawn_caprec(["record", "--region", "pick", "-d", "1", "--fps", "10", "-o", str(out)], cwd=tmp_path,
                        env=env_for)
    _read_prompt(proc, "drag a rectangle")
    desktop.xdotool("mousemove", "100", "80", "mousedown", "1", "mousemove", "200", "150", "mousemove", "301", "201",
                    "mouseup", "1")
    assert proc.stderr is not None
    _read_prompt(proc, "picked region 200x120+100+80 (record it again with --region 200x120+100+80)")
    assert proc.wait(timeout=RUN_TIMEOUT_S) == 0
    probe = ffprobe(out)
    assert (probe.width, probe.height) == (200, 120)


@pytest.mark.parametrize("how", ["close", "shrink"])
@pytest.mark.parametrize("mode", ["instant", "studio"])
def test_a_window_closed_or_shrunk_mid_recording_ends_it_cleanly_and_keeps_the_file(
        how: str, mode: str, desktop: Desktop, env_for: dict[str, str], spawn_caprec: SpawnCaprec,
        tmp_path: Path) -> None:
    window = desktop.window(f"caprec {how}s")
    bundle = tmp_path / "ended.caprec"
    out = bundle / "segments" / "1" / "display.mp4" if mode == "studio" else tmp_path / "ended.mp4"
    proc = spawn_caprec(["record", "--mode", mode, "--window", f"caprec {how}s", "--fps", "10", "-o",
                         str(bundle if mode == "studio" else out)], cwd=tmp_path, env=env_for)
    try:
        wait_until(lambda: out.exists() and out.stat().st_size > 2000, RUN_TIMEOUT_S, message="frames recorded")
        if how == "close":
            window.destroy()
        else:
            window.configure(width=101, height=75)
        desktop.conn.sync()
        assert proc.wait(timeout=RUN_TIMEOUT_S) == 0
        assert proc.stderr is not None
        expected = f"the window {window.id:#x} was closed" if how == "close" else \
            f"the window 'caprec {how}s' was resized to 101x75 or hidden"
        assert f"{expected}; the recording ends there" in proc.stderr.read().decode()
        probe = ffprobe(out)
        assert probe.frames >= 1 and (probe.width, probe.height) == (200, 150)
        assert not list(tmp_path.glob(".*"))  # no remux leftovers
        if mode == "studio":
            manifest = tomllib.loads((bundle / "recording.toml").read_text())
            assert manifest["status"] == "complete" and "error" not in manifest, manifest  # TOML has no null
        else:
            assert mp4_top_level_boxes(out).index("moov") < mp4_top_level_boxes(out).index("mdat")  # finalized
    finally:
        kill_if_running(proc)
        if how == "shrink":
            window.destroy()
            desktop.conn.sync()


def test_follow_mouse_records_the_region_size(desktop: Desktop, env_for: dict[str, str], run_caprec: RunCaprec,
                                              tmp_path: Path) -> None:
    out = tmp_path / "follow.mp4"
    result = run_caprec(["record", "--follow-mouse", "--region", "160x120+0+0", "-d", "1", "-q", "-o", str(out)],
                        cwd=tmp_path, env=env_for)
    assert result.returncode == 0, result.stderr
    assert (ffprobe(out).width, ffprobe(out).height) == (160, 120)


@pytest.mark.parametrize(("args", "message"), [
    (("--window", "no such window"), "error: --window: no window is called 'no such window'; windows here:"),
    (("--window", "0x7fffff1"), "error: --window: there is no window 0x7fffff1 on"),
    (("--window", "x", "--region", "100x100+0+0"), "error: --window: records a whole window; drop --region"),
    (("--screen", "7"), "error: --screen: there is no monitor 7; monitors here: 0 screen 640x480+0+0"),
    (("--follow-mouse",), "error: --follow-mouse: needs the size that follows the pointer: --region WxH+X+Y"),
    (("--source", "test", "--window", "x"), "error: --source: the test pattern has no windows or monitors"),
    (("--screen", "1", "--region", "100x100+0+0"), "error: --screen: records a whole monitor; drop --region"),
    (("--audio", "test,test"), "error: --audio: 'test' is given twice; name each input once"),
    (("--audio-tracks", "both"), "error: --audio-tracks: 'both' is not mix or separate"),
])
def test_bad_targets_are_one_line_exit_2_and_create_nothing(args: tuple[str, ...], message: str,
                                                             env_for: dict[str, str], run_caprec: RunCaprec,
                                                             tmp_path: Path) -> None:
    result = run_caprec(["record", *args, "-d", "1", "-o", str(tmp_path / "x.mp4")], cwd=tmp_path, env=env_for)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), lines
    assert list(tmp_path.iterdir()) == []


def test_two_windows_of_one_name_are_listed(desktop: Desktop, env_for: dict[str, str], run_caprec: RunCaprec,
                                            tmp_path: Path) -> None:
    first, second = desktop.window("caprec twin one"), desktop.window("caprec twin two")
    try:
        result = run_caprec(["record", "--window", "caprec twin", "-d", "1", "-o", str(tmp_path / "x.mp4")],
                            cwd=tmp_path, env=env_for)
        assert result.returncode == 2
        line = result.stderr.strip()
        assert line.startswith("error: --window: 'caprec twin' matches 2 windows; give one's id:")
        assert hex(first.id) in line and hex(second.id) in line and "\n" not in line
        assert list(tmp_path.iterdir()) == []
    finally:
        first.destroy()
        second.destroy()
        desktop.conn.sync()


# -- real RandR monitors: Xorg with the dummy video driver ------------------------

XORG_CONF = """
Section "Device"
    Identifier "dummy"
    Driver "dummy"
    VideoRam 64000
EndSection
Section "Monitor"
    Identifier "monitor"
    HorizSync 5.0-1000.0
    VertRefresh 5.0-200.0
    Modeline "800x600" 40.00 800 840 968 1056 600 601 605 628
EndSection
Section "Screen"
    Identifier "screen"
    Device "dummy"
    Monitor "monitor"
    DefaultDepth 24
    SubSection "Display"
        Depth 24
        Virtual 1600 600
    EndSubSection
EndSection
"""
DUMMY_DRIVER = Path("/usr/lib/xorg/modules/drivers/dummy_drv.so")
XORG_START_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def two_monitors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """Xorg (dummy driver) with one 1600x600 screen split into RandR monitors LEFT (primary, red) and RIGHT (blue)."""
    import os
    import shutil

    if shutil.which("Xorg") is None or not DUMMY_DRIVER.exists() or shutil.which("xrandr") is None:
        if os.environ.get("CI"):
            pytest.fail("Xorg, its dummy driver or xrandr is missing (CI must run the monitor tests)")
        pytest.skip("apt-get install xserver-xorg-core xserver-xorg-video-dummy x11-xserver-utils")
    if os.geteuid() != 0:
        pytest.skip("Xorg with a private config file needs root here")
    directory = tmp_path_factory.mktemp("xorg")
    (directory / "xorg.conf").write_text(XORG_CONF)
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xorg", "-displayfd", str(write_fd), "-config", str(directory / "xorg.conf"),
                               "-logfile", str(directory / "xorg.log"), "-noreset", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(write_fd)
    try:
        display = f":{read_display_number(read_fd, server, XORG_START_TIMEOUT_S)}"
        os.close(read_fd)
        env = {**scrubbed_environ(), "DISPLAY": display}
        for args in (["--fb", "1600x600"], ["--setmonitor", "*LEFT", "800/212x600/159+0+0", "DUMMY0"],
                     ["--setmonitor", "RIGHT", "800/212x600/159+800+0", "none"]):
            subprocess.run(["xrandr", *args], env=env, check=True, timeout=10, capture_output=True)
        from Xlib import display as xdisplay

        conn = xdisplay.Display(display)
        screen = conn.screen()
        for x, rgb in ((0, RED), (800, BLUE)):
            pixel = screen.default_colormap.alloc_color(*(c * 257 for c in rgb)).pixel
            screen.root.create_window(x, 0, 800, 600, 0, screen.root_depth, background_pixel=pixel,
                                      override_redirect=True).map()
        conn.sync()
        yield display, env
        conn.close()
    finally:
        terminate_and_reap(server)


@pytest.mark.parametrize(("args", "size", "colours", "cursor_x"), [
    ((), (800, 600), (RED,), 0),  # the default: the primary monitor
    (("--screen", "RIGHT"), (800, 600), (BLUE,), 800),
    (("--screen", "1"), (800, 600), (BLUE,), 800),
    (("--screen", "all"), (1600, 600), (RED, BLUE), 0),
])
def test_randr_monitors_of_one_screen(args: tuple[str, ...], size: tuple[int, int],
                                      colours: tuple[tuple[int, int, int], ...], cursor_x: int,
                                      two_monitors: tuple[str, dict[str, str]], caprec_env: dict[str, str],
                                      run_caprec: RunCaprec, tmp_path: Path) -> None:
    display, _ = two_monitors
    out = tmp_path / "mon.mp4"
    result = run_caprec(["record", "--cursor", *args, "-d", "1", "-q", "--fps", "10", "-o", str(out)], cwd=tmp_path,
                        env={**caprec_env, "DISPLAY": display})
    assert result.returncode == 0, result.stderr
    probe = ffprobe(out)
    assert (probe.width, probe.height) == size
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, check=True, timeout=30).stdout
    frame = np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3)
    halves = np.array_split(frame, len(colours), axis=1)
    for half, colour in zip(halves, colours, strict=True):
        assert close_to(half.reshape(-1, 3).mean(axis=0), colour)
    header = json.loads((tmp_path / "mon.cursor.ndjson").read_text().splitlines()[0])
    assert header["region"] == {"x": cursor_x, "y": 0, "width": size[0], "height": size[1]}


# -- camera ------------------------------------------------------------------------

def test_camera_argv_per_platform() -> None:
    from caprec.capture.ffmpeg.argv import CameraBackend, CameraSource, Corner
    from caprec.capture.platform.camera import parse_camera

    assert parse_camera("0", platform="linux", origin="--camera") == CameraSource(CameraBackend.V4L2, "/dev/video0")
    camera = CameraSource(CameraBackend.V4L2, "/dev/video2", width=240, corner=Corner.TOP_LEFT)
    argv = build_record_argv(VideoSource(Backend.X11GRAB, device=":1.0", camera=camera), Encoding(), ffmpeg_path=FF)
    assert argv[:17] == [FF, "-f", "x11grab", "-draw_mouse", "1", "-fpsprobesize", "0", "-framerate", "30",
                         "-i", ":1.0", "-f", "v4l2", "-framerate", "30", "-i", "/dev/video2"]
    assert argv[17:19] == ["-filter_complex", "[0]crop=trunc(iw/2)*2:trunc(ih/2)*2[s0];[1]scale=240:-2[s1];"
                                              "[s0][s1]overlay=eof_action=repeat:x=16:y=16[s2]"]
    mac = build_record_argv(VideoSource(Backend.AVFOUNDATION, device="1",
                                        camera=parse_camera("0", platform="darwin", origin="--camera")),
                            Encoding(), ffmpeg_path=FF)
    assert mac[mac.index("-i") + 1:][:7] == ["1:none", "-f", "avfoundation", "-framerate", "30", "-i", "0:none"]
    win = build_record_argv(VideoSource(Backend.GDIGRAB, camera=parse_camera("HD Webcam", platform="win32",
                                                                             origin="--camera")),
                            Encoding(), ffmpeg_path=FF)
    assert win[win.index("dshow") - 1:][:4] == ["-f", "dshow", "-i", "video=HD Webcam"]


def test_camera_test_is_drawn_in_its_corner(desktop: Desktop, env_for: dict[str, str], run_caprec: RunCaprec,
                                            tmp_path: Path) -> None:
    out = tmp_path / "cam.mp4"
    result = run_caprec(["record", "--camera", "test", "--camera-size", "160", "-d", "1", "-q", "--fps", "10",
                         "-o", str(out)], cwd=tmp_path, env=env_for)
    assert result.returncode == 0, result.stderr
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, check=True, timeout=30).stdout
    frame = np.frombuffer(raw, np.uint8).reshape(480, 640, 3).astype(int)
    camera = frame[480 - 16 - 120:480 - 16, 640 - 16 - 160:640 - 16]
    assert close_to(frame[:100, :100].reshape(-1, 3).mean(axis=0), RED)  # the screen
    assert camera.std() > 40  # testsrc's colour bars, not the red screen


@pytest.mark.parametrize(("args", "message"), [
    (("--camera", "/tmp/cam"), "error: --camera: '/tmp/cam' is not a V4L2 device; give /dev/videoN"),
    (("--camera", "test", "--camera-position", "middle"), "error: --camera-position: 'middle' is not a corner"),
    (("--camera-size", "99"), "error: --camera-size: places the camera; add --camera"),
    (("--camera", "test", "--camera-size", "99"), "error: --camera-size: '99' is not an even width"),
])
def test_bad_camera_options(args: tuple[str, ...], message: str, caprec_env: dict[str, str],
                            run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["record", "--source", "test", *args, "-d", "1", "-o", str(tmp_path / "x")],
                        cwd=tmp_path, env=caprec_env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message) and "\n" not in result.stderr.strip(), result.stderr
    assert list(tmp_path.iterdir()) == []


# -- macOS and Windows (argv only: their devices do not exist here) -----------------

def _plan_for(backend: Backend, device: str, tmp_path: Path) -> Any:
    from dataclasses import replace

    from caprec.commands.plan import resolve_plan
    from caprec.env import Environment

    plan = resolve_plan(env=Environment(environ={"XDG_CONFIG_HOME": str(tmp_path)}), source="test",
                        output=str(tmp_path / "x.mp4"), cursor=False)
    return replace(plan, source=VideoSource(backend, device=device))


@pytest.mark.parametrize(("backend", "flags", "device"), [
    (Backend.AVFOUNDATION, {"screen": "2"}, "Capture screen 2"),
    (Backend.GDIGRAB, {"screen": "all"}, "desktop"),
    (Backend.GDIGRAB, {"window": "Untitled - Notepad"}, "title=Untitled - Notepad"),
])
def test_other_platforms_map_targets_to_their_devices(backend: Backend, flags: dict[str, str], device: str,
                                                      tmp_path: Path) -> None:
    from caprec.commands.targets import TargetFlags, apply_targets

    plan = apply_targets(_plan_for(backend, "1", tmp_path), TargetFlags(**flags), say=print)
    assert plan.source.device == device


@pytest.mark.parametrize(("backend", "flags", "message"), [
    (Backend.AVFOUNDATION, {"window": "Safari"}, "--window: macOS's avfoundation cannot record one window; "
                                                 "record its area with --region WxH+X+Y"),
    (Backend.AVFOUNDATION, {"screen": "all"}, "--screen: avfoundation records one screen at a time"),
    (Backend.GDIGRAB, {"window": "pick"}, "--window: on Windows give the window's title"),
    (Backend.GDIGRAB, {"screen": "1"}, "--screen: on Windows record one monitor with --region WxH+X+Y"),
    (Backend.GDIGRAB, {"region_pick": True}, "--region: pick needs X11"),
    (Backend.AVFOUNDATION, {"follow_mouse": True}, "--follow-mouse: only x11grab follows the pointer"),
])
def test_other_platforms_refuse_what_they_cannot_record(backend: Backend, flags: dict[str, Any], message: str,
                                                        tmp_path: Path) -> None:
    from caprec.commands.targets import TargetFlags, apply_targets

    with pytest.raises(SettingError) as caught:
        apply_targets(_plan_for(backend, "1", tmp_path), TargetFlags(**flags), say=print)
    assert str(caught.value).startswith(message)
