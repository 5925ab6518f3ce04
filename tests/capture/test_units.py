"""Parsing of what users type: durations, frame rates, regions, byte sizes."""

from __future__ import annotations

import pytest
from caprec.capture.errors import SettingError
from caprec.capture.units import (
    MAX_PIPE_BUFFER_BYTES,
    MIN_PIPE_BUFFER_BYTES,
    Region,
    check_region_fits,
    format_bytes,
    format_duration,
    parse_byte_size,
    parse_duration,
    parse_fps,
    parse_region,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0),
    ("1.5", 1.5),
    ("1m30s", 90.0),
    ("1m", 60.0),
    ("45s", 45.0),
    ("2h", 7200.0),
    ("1h2m3s", 3723.0),
    ("00:01:30", 90.0),
    ("1:30", 90.0),
    ("01:00:00.5", 3600.5),
    (" 1M30S ", 90.0),
])
def test_parse_duration_accepts(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["0", "0s", "00:00:00", "-1", "abc", "1m70", "00:01:70", "00:70:00",
                                  "", "   ", "5ms", "1x", "1.5.2", "200h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(SettingError) as info:
        parse_duration(text)
    assert info.value.origin == "`duration`"  # the engine names the field; the CLI names its flag
    assert str(info.value).startswith("`duration`: ")
    assert repr(text) in str(info.value)


def test_parse_duration_names_its_origin() -> None:
    with pytest.raises(SettingError, match=r"^CAPREC_DURATION: 'x' is not a duration"):
        parse_duration("x", origin="CAPREC_DURATION")


@pytest.mark.parametrize(("text", "fps"), [("30", 30.0), ("29.97", 29.97), ("1", 1.0), ("240", 240.0), (60, 60.0)])
def test_parse_fps_accepts(text: str | float, fps: float) -> None:
    assert parse_fps(text) == fps


@pytest.mark.parametrize("text", ["0", "-5", "abc", "", "nan", "inf", "240.5", "1000"])
def test_parse_fps_rejects(text: str) -> None:
    with pytest.raises(SettingError, match=r"^`fps`: "):
        parse_fps(text)


@pytest.mark.parametrize(("text", "region"), [
    ("1280x720+0+0", Region(1280, 720, 0, 0)),
    ("640x480+100+50", Region(640, 480, 100, 50)),
    ("1280x720-1920+0", Region(1280, 720, -1920, 0)),
    ("2x2-1-1", Region(2, 2, -1, -1)),
])
def test_parse_region_accepts(text: str, region: Region) -> None:
    parsed = parse_region(text)
    assert parsed == region
    assert str(parsed) == text
    assert parsed.size == f"{region.width}x{region.height}"


@pytest.mark.parametrize(("text", "why"), [
    ("1281x720+0+0", "odd width or height"),
    ("1280x721+0+0", "odd width or height"),
    ("0x720+0+0", "empty size"),
    ("1280x0+0+0", "empty size"),
    ("garbage", "is not a region"),
    ("1280x720", "is not a region"),
    ("1280*720+0+0", "is not a region"),
    ("1280x720+0", "is not a region"),
    ("", "is not a region"),
])
def test_parse_region_rejects(text: str, why: str) -> None:
    with pytest.raises(SettingError, match=r"^`region`: ") as info:
        parse_region(text)
    assert why in str(info.value)


def test_odd_region_error_suggests_an_even_size() -> None:
    # One less, not one more: 1281 wide at x=0 fits a 1280-wide screen, 1282 would not.
    with pytest.raises(SettingError, match=r"e\.g\. 1280x720\+10\+20"):
        parse_region("1281x721+10+20")
    with pytest.raises(SettingError, match=r"e\.g\. 1280x720\+0\+0"):
        parse_region("1281x720+0+0")
    with pytest.raises(SettingError, match=r"e\.g\. 2x2\+0\+0"):
        parse_region("1x1+0+0")


@pytest.mark.parametrize("region", [Region(1280, 720, 0, 0), Region(2, 2, 1278, 718), Region(640, 480, 640, 240)])
def test_check_region_fits_accepts_regions_inside(region: Region) -> None:
    check_region_fits(region, screen_width=1280, screen_height=720)


@pytest.mark.parametrize("region", [Region(1282, 720, 0, 0), Region(1280, 720, 2, 0), Region(1280, 720, 0, 2),
                                    Region(640, 480, -2, 0), Region(640, 480, 0, -2), Region(2, 2, 1280, 0)])
def test_check_region_fits_rejects_regions_outside(region: Region) -> None:
    with pytest.raises(SettingError, match=r"^`region`: .* lies outside the 1280x720 screen"):
        check_region_fits(region, screen_width=1280, screen_height=720)


@pytest.mark.parametrize(("text", "size"), [
    ("512KiB", 512 * 1024),
    ("1MiB", 1024 * 1024),
    ("1M", 1024 * 1024),
    ("1 MiB", 1024 * 1024),
    ("1mib", 1024 * 1024),
    ("1MB", 1_000_000),
    ("1.5MiB", 3 * 512 * 1024),
    ("4096", 4096),
    (65536, 65536),
    ("256MiB", MAX_PIPE_BUFFER_BYTES),
])
def test_parse_byte_size_accepts(text: str | int, size: int) -> None:
    assert parse_byte_size(text, origin="--pipe-buffer") == size


@pytest.mark.parametrize(("text", "why"), [
    ("4095", "out of range"),
    ("1KB", "out of range"),
    ("257MiB", "out of range"),
    ("1GiB", "out of range"),
    ("0", "out of range"),
    ("abc", "is not a size"),
    ("-1MiB", "is not a size"),
    ("1TiB", "is not a size"),
    ("", "is not a size"),
])
def test_parse_byte_size_rejects(text: str, why: str) -> None:
    with pytest.raises(SettingError, match=r"^CAPREC_PIPE_BUFFER: ") as info:
        parse_byte_size(text, origin="CAPREC_PIPE_BUFFER")
    assert why in str(info.value)


def test_parse_byte_size_bounds_are_inclusive_and_adjustable() -> None:
    assert parse_byte_size(str(MIN_PIPE_BUFFER_BYTES), origin="x") == MIN_PIPE_BUFFER_BYTES
    assert parse_byte_size("2KiB", origin="x", minimum=1024, maximum=2048) == 2048
    with pytest.raises(SettingError, match=r"use 1\.0 KiB to 2\.0 KiB"):
        parse_byte_size("3KiB", origin="x", minimum=1024, maximum=2048)


@pytest.mark.parametrize(("size", "text"), [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"),
                                            (1024 * 1024, "1.0 MiB"), (5 * 1024**4, "5120.0 GiB")])
def test_format_bytes(size: int, text: str) -> None:
    assert format_bytes(size) == text


@pytest.mark.parametrize(("seconds", "text"), [(0, "00:00:00.0"), (83.4, "00:01:23.4"), (3723.25, "01:02:03.2"),
                                               (-5, "00:00:00.0")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
