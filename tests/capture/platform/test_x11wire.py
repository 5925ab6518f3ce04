"""The X screens asked over the display's socket (caprec.capture.platform.x11wire) answer what python-xlib answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from caprec.capture.platform.devices_linux import read_x_screens, xlib_screens
from caprec.capture.platform.screen import x11_screen_size
from caprec.capture.platform.x11wire import local_screen_number, wire_screens
from support.xserver import start_xvfb

XRANDR_TIMEOUT_S = 10.0
REPO = Path(__file__).resolve().parent.parent
# Two monitors side by side on screen 0 (xrandr --setmonitor: a RandR 1.5 monitor without an output).
MONITORS = (("LEFT", "640/169x720/190+0+0"), ("RIGHT", "640/169x720/190+640+0"))


@pytest.fixture(scope="module")
def monitors_xvfb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Xvfb with two screens, the first split into two RandR monitors; yields its display."""
    if shutil.which("xrandr") is None:
        pytest.skip("xrandr is not installed (apt-get install x11-xserver-utils)")
    log = tmp_path_factory.mktemp("xvfb-wire") / "xvfb.log"
    with start_xvfb("1280x720x24", "800x600x16", log=log) as (_, display):
        for name, geometry in MONITORS:
            subprocess.run(["xrandr", "-d", f"{display}.0", "--setmonitor", name, geometry, "none"], check=True,
                           timeout=XRANDR_TIMEOUT_S, capture_output=True)
        yield display


@pytest.mark.x11
@pytest.mark.parametrize("screen", ["", ".0", ".1"])
def test_wire_screens_are_python_xlibs(monitors_xvfb: str, screen: str) -> None:
    display = monitors_xvfb + screen
    wire = wire_screens(display)
    assert wire is not None
    assert wire == xlib_screens(display)
    assert [(s.number, s.width, s.height) for s in wire] == [(0, 1280, 720), (1, 800, 600)]
    assert {("LEFT", 0, 0, 640, 720), ("RIGHT", 640, 0, 640, 720)} <= {
        (m.name, m.x, m.y, m.width, m.height) for m in wire[0].monitors}
    assert read_x_screens(display) == wire


@pytest.mark.x11
def test_screen_size_of_each_screen_without_python_xlib(monitors_xvfb: str) -> None:
    assert [x11_screen_size(monitors_xvfb), x11_screen_size(f"{monitors_xvfb}.1")] == [(1280, 720), (800, 600)]
    # Neither the size nor the monitors imported python-xlib (its `uname -p` subprocess): checked in a fresh
    # interpreter, since this one may have imported it for another test.
    code = ("import sys; from caprec.capture.platform.screen import x11_screen_size; "
            "from caprec.capture.platform.devices_linux import read_x_screens; "
            f"x11_screen_size({monitors_xvfb!r}); read_x_screens({monitors_xvfb!r}); "
            "print(sorted(m for m in sys.modules if m.startswith('Xlib')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            timeout=XRANDR_TIMEOUT_S, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.stdout.strip() == "[]", result.stdout


def test_what_the_wire_leaves_to_python_xlib() -> None:
    """TCP displays, odd names and displays nobody serves are python-xlib's (its messages are the errors)."""
    assert local_screen_number(":0") == 0
    assert local_screen_number(":3.1") == 1
    assert local_screen_number("unix:3") == 0
    assert local_screen_number("localhost:3") is None
    assert local_screen_number("nonsense") is None
    for display in ("localhost:3", "nonsense", ":59999", ":0.x"):
        assert wire_screens(display) is None
