"""Display geometry -> where the video lies in pointer coordinates (macOS points, Windows pixels).

No Mac or Windows machine exists here: the displays are made up, the way
Quartz and EnumDisplayMonitors would report them, and the math is checked
exactly, down to a pointer event written by the real cursor writer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from caprec.capture.cursor.format import CursorContext
from caprec.capture.cursor.format import Region as CursorRegion
from caprec.capture.cursor.writer import CursorWriter
from caprec.capture.ffmpeg.argv import Backend
from caprec.capture.platform.displays import (
    DisplayInfo,
    GeometryUnavailable,
    avfoundation_screen_device,
    avfoundation_screen_index,
    display_reader,
    pointer_area,
)
from caprec.capture.record.framebudget import MIN_QUEUE_SIZE, QUEUE_MEMORY_BUDGET, capped_queue_size
from caprec.capture.units import Region

# Quartz lists the main display first. A 2x Retina display sits left of it,
# so its origin in points is negative; pynput reports points from the main
# display's top-left.
MAIN = DisplayInfo(x=0, y=0, width=1920, height=1080, pixel_width=1920, pixel_height=1080, main=True)
RETINA_LEFT = DisplayInfo(x=-1512, y=-200, width=1512, height=982, pixel_width=3024, pixel_height=1964)
MAC = [MAIN, RETINA_LEFT]
# Windows (physical pixels): the primary, and a 4K monitor left of it and higher.
PRIMARY = DisplayInfo(x=0, y=0, width=1920, height=1080, pixel_width=1920, pixel_height=1080, main=True)
LEFT_4K = DisplayInfo(x=-3840, y=-500, width=3840, height=2160, pixel_width=3840, pixel_height=2160)
WINDOWS = [PRIMARY, LEFT_4K]


def test_avfoundation_screens_are_named_by_index() -> None:
    assert avfoundation_screen_device(1) == "Capture screen 1"
    assert avfoundation_screen_index("Capture screen 12") == 12
    # A bare index counts cameras first: it does not say which screen.
    assert avfoundation_screen_index("1") is None


def test_retina_display_left_of_main_whole_screen() -> None:
    area = pointer_area(backend=Backend.AVFOUNDATION, device="Capture screen 1", region=None, displays=MAC)
    assert (area.x, area.y, area.width, area.height) == (-1512, -200, 1512, 982)
    assert (area.unit, area.scale, area.screen) == ("points", 2, (1512, 982))


def test_retina_region_in_pixels_becomes_points_from_the_display_origin() -> None:
    crop = Region(1000, 600, 200, 100)  # video pixels of screen 1
    area = pointer_area(backend=Backend.AVFOUNDATION, device="Capture screen 1", region=crop, displays=MAC)
    assert (area.x, area.y, area.width, area.height) == (-1412, -150, 500, 300)
    odd = pointer_area(backend=Backend.AVFOUNDATION, device="Capture screen 1", region=Region(1000, 600, 101, 1),
                       displays=MAC)
    assert (odd.x, odd.y) == (-1461.5, -199.5)


def test_main_display_at_1x() -> None:
    area = pointer_area(backend=Backend.AVFOUNDATION, device="Capture screen 0", region=None, displays=MAC)
    assert (area.x, area.y, area.width, area.height, area.scale) == (0, 0, 1920, 1080, 1)


def test_a_pointer_event_lands_on_the_right_video_pixel(tmp_path: Path) -> None:
    """pynput's global points in, the log's x/y (points) * scale = the pixel in the cropped video."""
    crop = Region(1000, 600, 200, 100)
    area = pointer_area(backend=Backend.AVFOUNDATION, device="Capture screen 1", region=crop, displays=MAC)
    context = CursorContext(caprec_version="t", source="avfoundation", unit=area.unit, scale=area.scale,
                            region=CursorRegion(area.x, area.y, area.width, area.height), screen_width=1512,
                            screen_height=982)
    now = [10.0]
    path = tmp_path / "c.ndjson"
    writer = CursorWriter(path, context, clock=lambda: now[0])
    writer.set_origin(monotonic=10.0, wall=1.0)
    # The video pixel (700, 450) of the crop is screen-1 pixel (900, 550) = point (450, 275) of screen 1.
    writer.on_move(-1512 + 450.0, -200 + 275.0)
    writer.stop()
    header, event = (json.loads(line) for line in path.read_text().splitlines())
    assert header["unit"] == "points" and header["scale"] == 2
    assert header["region"] == {"x": -1412, "y": -150, "width": 500, "height": 300}
    assert (event["x"] * header["scale"], event["y"] * header["scale"]) == (700, 450)
    assert (event["nx"], event["ny"]) == (0.7, 0.75)


def test_unknown_screens_cannot_be_placed() -> None:
    with pytest.raises(GeometryUnavailable, match="avfoundation index"):
        pointer_area(backend=Backend.AVFOUNDATION, device="2", region=None, displays=MAC)
    with pytest.raises(GeometryUnavailable, match="screen 5 is not among the 2"):
        pointer_area(backend=Backend.AVFOUNDATION, device="Capture screen 5", region=None, displays=MAC)
    with pytest.raises(GeometryUnavailable, match="does not fit screen 0"):
        pointer_area(backend=Backend.AVFOUNDATION, device="Capture screen 0", region=Region(1920, 1080, 2, 0),
                     displays=MAC)
    with pytest.raises(GeometryUnavailable, match="window"):
        pointer_area(backend=Backend.GDIGRAB, device="title=Notepad", region=None, displays=WINDOWS)


def test_gdigrab_desktop_spans_every_monitor_from_the_virtual_origin() -> None:
    area = pointer_area(backend=Backend.GDIGRAB, device="desktop", region=None, displays=WINDOWS)
    assert (area.x, area.y, area.width, area.height) == (-3840, -500, 5760, 2160)
    assert (area.unit, area.scale, area.screen) == ("pixels", 1, (5760, 2160))


def test_gdigrab_region_is_already_in_virtual_screen_pixels() -> None:
    area = pointer_area(backend=Backend.GDIGRAB, device="", region=Region(1280, 720, -1920, -100), displays=WINDOWS)
    assert (area.x, area.y, area.width, area.height) == (-1920, -100, 1280, 720)


def test_ddagrab_offsets_are_per_monitor() -> None:
    area = pointer_area(backend=Backend.DDAGRAB, device="1", region=Region(1280, 720, 100, 50), displays=WINDOWS)
    assert (area.x, area.y, area.width, area.height) == (-3740, -450, 1280, 720)
    whole = pointer_area(backend=Backend.DDAGRAB, device="", region=None, displays=WINDOWS)
    assert (whole.x, whole.y, whole.width, whole.height) == (0, 0, 1920, 1080)


def test_no_reader_off_macos_and_windows() -> None:
    with pytest.raises(GeometryUnavailable, match="no display geometry reader for linux"):
        display_reader("linux")()


def test_queue_is_bounded_by_bytes_for_big_frames() -> None:
    retina = DisplayInfo(x=0, y=0, width=1440, height=900, pixel_width=2880, pixel_height=1800)
    frame = 2880 * 1800 * 2  # uyvy422: 10.4 MB
    capped = capped_queue_size(240, backend=Backend.AVFOUNDATION, device="Capture screen 0", displays=[retina])
    assert capped.size == QUEUE_MEMORY_BUDGET // frame == 51
    assert capped.reason is not None and "2880x1800" in capped.reason and "512.0 MiB" in capped.reason
    five_k = DisplayInfo(x=0, y=0, width=2560, height=1440, pixel_width=5120, pixel_height=2880)
    assert capped_queue_size(96, backend=Backend.AVFOUNDATION, device="Capture screen 0",
                             displays=[five_k]).size == QUEUE_MEMORY_BUDGET // (5120 * 2880 * 2) == 18
    # Small frames keep the whole default; a huge one never goes below FFmpeg's own 8.
    assert capped_queue_size(96, backend=Backend.AVFOUNDATION, device="Capture screen 0",
                             displays=[MAIN]).size == 96
    assert capped_queue_size(96, backend=Backend.GDIGRAB, device="desktop", displays=WINDOWS,
                             budget=1).size == MIN_QUEUE_SIZE
    # gdigrab grabs only the region: bgra, 4 bytes a pixel.
    assert capped_queue_size(240, backend=Backend.GDIGRAB, device="desktop", displays=WINDOWS,
                             region=Region(3840, 2160, -3840, -500)).size == QUEUE_MEMORY_BUDGET // (3840 * 2160 * 4)
