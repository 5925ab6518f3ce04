"""Reading cursor logs: round trip, damaged files, versions, the summary."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from caprec.capture.cursor.format import CURSOR_FORMAT, CursorContext, CursorFormatError, Region
from caprec.capture.cursor.reader import iter_cursor_events, read_cursor_log, summarize_cursor_log
from caprec.capture.cursor.writer import CursorWriter
from support.clock import FakeClock
from support.cursor_logs import WALL, click, header, move, write_log

ORIGIN = 50.0


def test_round_trip_through_the_writer(tmp_path: Path) -> None:
    clock = FakeClock(ORIGIN)
    ctx = CursorContext("0.1.0", "x11grab", Region(10, 20, 200, 100), 1920, 1080)
    writer = CursorWriter(tmp_path / "c.ndjson", ctx, clock=clock)
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    expected: list[dict[str, Any]] = []
    for i in range(50):
        clock.now = ORIGIN + i / 100
        writer.on_move(10 + i, 20 + i)
        expected.append({"t": i * 10.0, "type": "move", "x": i, "y": i, "nx": round(i / 200, 5), "ny": i / 100})
        if i % 10 == 0:
            writer.on_click(10 + i, 20 + i, "left", i % 20 == 0)
            expected.append({**expected[-1], "type": "click", "button": "left", "pressed": i % 20 == 0})
            writer.flush()
    writer.on_scroll(10, 20, -1, 3)
    expected.append({"t": 490.0, "type": "scroll", "x": 0, "y": 0, "nx": 0.0, "ny": 0.0, "dx": -1, "dy": 3})
    writer.stop()
    log = read_cursor_log(writer.path)
    assert log.header["format"] == CURSOR_FORMAT and log.header["region"]["x"] == 10
    assert log.events == expected
    assert log.warnings == []
    assert list(iter_cursor_events(writer.path)) == expected


def test_torn_last_line_is_skipped_with_warning(tmp_path: Path) -> None:
    path = write_log(tmp_path / "c.ndjson", header(), [move(1, 1, 1), move(2, 2, 2)], tail=b'{"t":3.0,"type":"mo')
    log = read_cursor_log(path)
    assert [e["t"] for e in log.events] == [1, 2]
    assert len(log.warnings) == 1 and "line 4" in log.warnings[0] and "incomplete last line" in log.warnings[0]
    assert len(list(iter_cursor_events(path))) == 2
    assert summarize_cursor_log(path).warnings == log.warnings


def test_last_line_without_newline_is_treated_as_torn(tmp_path: Path) -> None:
    # Valid JSON cut exactly before its newline may still be a cut-short event.
    path = write_log(tmp_path / "c.ndjson", header(), [move(1, 1, 1)], tail=b'{"t":2.0,"type":"move","x":5}')
    log = read_cursor_log(path)
    assert len(log.events) == 1 and "no newline" in log.warnings[0]


def test_malformed_middle_line_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "c.ndjson"
    write_log(path, header(), [move(1, 1, 1)])
    with path.open("ab") as f:
        f.write(b"garbage\n")
        f.write(json.dumps(move(2, 2, 2)).encode() + b"\n")
    with pytest.raises(CursorFormatError, match=r"line 3 is malformed") as info:
        read_cursor_log(path)
    assert "\n" not in str(info.value)
    with pytest.raises(CursorFormatError, match="line 3"):
        summarize_cursor_log(path)


@pytest.mark.parametrize(
    "bad",
    [b"[1,2]\n", b'{"type":"move"}\n', b'{"t":"soon","type":"move"}\n', b'{"t":true,"type":"move"}\n', b"\xff\n"],
)
def test_middle_lines_that_are_not_events(tmp_path: Path, bad: bytes) -> None:
    path = write_log(tmp_path / "c.ndjson", header(), [], tail=bad + json.dumps(move(1, 1, 1)).encode() + b"\n")
    with pytest.raises(CursorFormatError, match="line 2"):
        read_cursor_log(path)


def test_newer_major_version_is_refused(tmp_path: Path) -> None:
    path = write_log(tmp_path / "c.ndjson", header(version="2.3"), [move(1, 1, 1)])
    with pytest.raises(CursorFormatError, match=r"version 2\.3 is newer.*upgrade caprec"):
        read_cursor_log(path)
    with pytest.raises(CursorFormatError, match="upgrade caprec"):
        next(iter_cursor_events(path))


def test_newer_minor_version_is_read_keeping_unknown_fields(tmp_path: Path) -> None:
    event = {**move(1, 1, 1), "pressure": 0.5}
    other = {"t": 2, "type": "gesture", "name": "pinch"}
    path = write_log(tmp_path / "c.ndjson", header(version="1.9", extra=True), [event, other])
    log = read_cursor_log(path)
    assert log.events == [event, other] and log.header["extra"] is True
    summary = summarize_cursor_log(path)
    assert (summary.events, summary.moves, summary.clicks, summary.scrolls) == (2, 1, 0, 0)


@pytest.mark.parametrize("version", ["1", "one.zero", 1.0, None])
def test_bad_version_is_refused(tmp_path: Path, version: object) -> None:
    path = write_log(tmp_path / "c.ndjson", header(version=version), [])
    with pytest.raises(CursorFormatError, match="bad version"):
        read_cursor_log(path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"hello world\n",
        b'{"moves":[],"clicks":[]}\n',  # Cap's format
        b'{"format":"something-else","version":"1.0"}\n',
        b'{"format":"caprec-cursor","ver',  # header cut short
    ],
)
def test_not_a_cursor_log_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "c.ndjson"
    path.write_bytes(content)
    with pytest.raises(CursorFormatError, match=r"not a caprec cursor log|empty file") as info:
        read_cursor_log(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_header_only_file(tmp_path: Path) -> None:
    path = write_log(tmp_path / "c.ndjson", header(first_frame_wall=None, first_frame_utc=None), [])
    log = read_cursor_log(path)
    assert log.events == [] and log.warnings == []
    summary = summarize_cursor_log(path)
    assert summary.events == 0 and summary.duration_ms == 0.0 and summary.distance_px == 0.0


def test_summary(tmp_path: Path) -> None:
    events = [
        move(0.0, 0, 0),
        move(10.0, 3, 4),  # 5 px
        click(20.0, "left", True, 3, 4),
        click(30.0, "left", False, 3, 4),
        click(40.0, "right", True, 3, 4),
        click(41.0, "right", False, 3, 4),
        click(50.0, "left", True, 3, 4),
        move(60.0, 3, 0),  # 4 px
        {"t": 75.5, "type": "scroll", "x": 3, "y": 0, "nx": 0.03, "ny": 0.0, "dx": 0, "dy": -1},
    ]
    path = write_log(tmp_path / "c.ndjson", header(), events)
    summary = summarize_cursor_log(path)
    # A click is a press and its release: 3 clicks (the last one cut short), from 5 click events.
    assert (summary.events, summary.moves, summary.clicks, summary.scrolls) == (9, 3, 3, 1)
    assert (summary.presses, summary.releases) == (3, 2)
    assert summary.presses_by_button == {"left": 2, "right": 1}
    assert summary.duration_ms == summary.last_event_ms == 75.5
    assert summarize_cursor_log(path, recording_ms=2000.0).duration_ms == 2000.0
    assert math.isclose(summary.distance_px, 9.0)
    data = summary.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["presses_by_button"] == {"left": 2, "right": 1} and data["warnings"] == []


def test_time_going_backwards_is_warned_once(tmp_path: Path) -> None:
    path = write_log(tmp_path / "c.ndjson", header(), [move(5, 0, 0), move(3, 0, 0), move(1, 0, 0)])
    log = read_cursor_log(path)
    assert len(log.events) == 3
    assert len(log.warnings) == 1 and "backwards" in log.warnings[0] and "line 3" in log.warnings[0]


def test_iter_is_lazy_and_streaming(tmp_path: Path) -> None:
    path = write_log(tmp_path / "c.ndjson", header(), [move(i, i, i) for i in range(1000)])
    events = iter_cursor_events(path)
    assert next(events)["t"] == 0
    assert sum(1 for _ in events) == 999
