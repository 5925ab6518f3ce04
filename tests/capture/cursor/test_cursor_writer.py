"""CursorWriter and CursorSidecar, driven by an injected clock and direct calls.

No X server is needed: the listener is a fake. Nothing here sleeps to
synchronize; waits on real threads poll a condition until a deadline.
"""

from __future__ import annotations

import enum
import errno
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import caprec.capture.cursor.listener as cursor_mod
import pytest
from caprec.capture.cursor.format import (
    CURSOR_FORMAT,
    CURSOR_FORMAT_VERSION,
    CursorContext,
    CursorUnavailableError,
    Region,
)
from caprec.capture.cursor.listener import CursorSidecar
from caprec.capture.cursor.reader import read_cursor_log
from caprec.capture.cursor.writer import CursorWriter
from caprec.capture.errors import CaptureError, OutputError
from support.clock import FakeClock

ORIGIN = 1000.0  # the fake clock's value at the video's first frame
WALL = 1_700_000_000.25  # 2023-11-14T22:13:20.250Z
POLL = 0.005  # seconds between checks while polling a real thread
DEADLINE = 5.0  # generous bound for real threads on a loaded CI machine


class MemorySink:
    """A CursorSink in memory that counts calls and fails on demand.

    ``fail_next`` is a list of errnos; each write pops one and raises it,
    after first writing ``partial`` bytes if set (a short write then an error).
    """

    def __init__(self) -> None:
        self.data = bytearray()
        self.writes = 0
        self.fsyncs = 0
        self.closed = False
        self.fail_next: list[int] = []
        self.partial = 0

    def write(self, data: memoryview) -> int:
        self.writes += 1
        if self.fail_next:
            code = self.fail_next.pop(0)
            if self.partial:
                take = min(self.partial, len(data))
                self.data += data[:take]
                self.partial = 0
                # A real short write returns the count; the error comes on the next call.
                self.fail_next.insert(0, code)
                return take
            raise OSError(code, os.strerror(code))
        self.data += data
        return len(data)

    def fsync(self) -> None:
        self.fsyncs += 1

    def close(self) -> None:
        self.closed = True


def context(region: Region | None = None, **kw: Any) -> CursorContext:
    return CursorContext(
        caprec_version="0.1.0",
        source="x11grab",
        region=region or Region(100, 50, 1000, 500),
        screen_width=1920,
        screen_height=1080,
        **kw,
    )


def make_writer(
    tmp_path: Path,
    *,
    clock: FakeClock | None = None,
    sink: MemorySink | None = None,
    region: Region | None = None,
    **kw: Any,
) -> tuple[CursorWriter, FakeClock, MemorySink | None]:
    clock = clock or FakeClock(ORIGIN)
    opener: Callable[[Path], MemorySink] | None = (lambda _path: sink) if sink is not None else None
    writer = CursorWriter(tmp_path / "cursor.ndjson", context(region), clock=clock, opener=opener, **kw)
    return writer, clock, sink


def lines_of(data: bytes) -> list[dict[str, Any]]:
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.decode().splitlines()]


def wait_until(predicate: Callable[[], bool], timeout: float = DEADLINE) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        threading.Event().wait(POLL)
    return True


# -- header and events --------------------------------------------------------


def test_header_content(tmp_path: Path) -> None:
    writer, _, _ = make_writer(tmp_path, flush_interval=0.5)
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    assert writer.flush() is True
    writer.stop()
    data = writer.path.read_bytes()
    first = data.split(b"\n", 1)[0]
    assert b" " not in first  # compact separators
    header = json.loads(first)
    assert header == {
        "format": CURSOR_FORMAT,
        "version": CURSOR_FORMAT_VERSION,
        "caprec_version": "0.1.0",
        "source": "x11grab",
        "region": {"x": 100, "y": 50, "width": 1000, "height": 500},
        "screen": {"width": 1920, "height": 1080},
        "unit": "pixels",
        "scale": None,
        "fps": 30.0,
        "first_frame_wall": WALL,
        "first_frame_utc": "2023-11-14T22:13:20.250Z",
        "flush_interval": 0.5,
    }


def test_header_unknown_screen_and_points(tmp_path: Path) -> None:
    ctx = CursorContext(
        caprec_version="0.1.0",
        source="avfoundation",
        region=Region(0, 0, 1440, 900),
        screen_width=None,
        screen_height=None,
        unit="points",
        scale=2.0,
        fps=60.0,
    )
    writer = CursorWriter(tmp_path / "c.ndjson", ctx)
    writer.set_origin(monotonic=time.monotonic(), wall=WALL)
    writer.stop()
    header = read_cursor_log(writer.path).header
    assert (header["screen"], header["unit"], header["scale"], header["fps"]) == (None, "points", 2.0, 60.0)


def test_events_fields(tmp_path: Path) -> None:
    writer, clock, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    clock.now = ORIGIN + 0.01234  # 12.34 ms -> 12.3
    writer.on_move(600, 300)
    clock.now = ORIGIN + 0.5
    writer.on_click(600, 300, "left", True)
    writer.on_click(600, 300, "right", False)
    clock.now = ORIGIN + 1.00006
    writer.on_scroll(350, 175, 0, -2)
    assert writer.flush() is True
    _header, *event_lines = bytes(sink.data).decode().splitlines()
    assert all(" " not in line for line in event_lines)
    events = [json.loads(line) for line in event_lines]
    assert events == [
        {"t": 12.3, "type": "move", "x": 500, "y": 250, "nx": 0.5, "ny": 0.5},
        {"t": 500.0, "type": "click", "x": 500, "y": 250, "nx": 0.5, "ny": 0.5, "button": "left", "pressed": True},
        {"t": 500.0, "type": "click", "x": 500, "y": 250, "nx": 0.5, "ny": 0.5, "button": "right", "pressed": False},
        {"t": 1000.1, "type": "scroll", "x": 250, "y": 125, "nx": 0.25, "ny": 0.25, "dx": 0, "dy": -2},
    ]
    stats = writer.stats()
    assert (stats.events, stats.moves, stats.clicks, stats.scrolls) == (4, 1, 2, 1)
    assert stats.bytes_written == len(sink.data)


def test_normalized_coordinates_rounded_to_five_decimals(tmp_path: Path) -> None:
    writer, _, sink = make_writer(tmp_path, sink=MemorySink(), region=Region(0, 0, 3, 7))
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.on_move(1, 1)
    writer.flush()
    event = lines_of(bytes(sink.data))[1]
    assert (event["nx"], event["ny"]) == (0.33333, 0.14286)


def test_pointer_outside_region_is_not_clamped(tmp_path: Path) -> None:
    writer, _, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.on_move(0, 0)  # left of and above the region at (100, 50)
    writer.on_move(1600, 1050)  # right of and below it
    writer.flush()
    left, right = lines_of(bytes(sink.data))[1:]
    assert (left["x"], left["y"], left["nx"], left["ny"]) == (-100, -50, -0.1, -0.1)
    assert (right["x"], right["y"], right["nx"], right["ny"]) == (1500, 1000, 1.5, 2.0)


def test_negative_coordinate_monitor_region(tmp_path: Path) -> None:
    # A monitor left of and above the primary one: the region starts at negative coordinates.
    region = Region(-1920, -1080, 1920, 1080)
    writer, _, sink = make_writer(tmp_path, sink=MemorySink(), region=region)
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.on_move(-960, -270)
    writer.on_click(-1920, -1080, "middle", True)
    writer.flush()
    header, move, click = lines_of(bytes(sink.data))
    assert header["region"] == {"x": -1920, "y": -1080, "width": 1920, "height": 1080}
    assert (move["x"], move["y"], move["nx"], move["ny"]) == (960, 810, 0.5, 0.75)
    assert (click["x"], click["y"], click["nx"], click["ny"], click["button"]) == (0, 0, 0.0, 0.0, "middle")


def test_events_before_origin_are_dropped(tmp_path: Path) -> None:
    writer, clock, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    clock.now = ORIGIN - 2.0
    writer.on_move(1, 1)
    writer.on_click(1, 1, "left", True)
    assert writer.flush() is False  # no origin yet: nothing is written, events wait
    assert sink.writes == 0 and writer.stats().pending == 2
    clock.now = ORIGIN + 0.25
    writer.on_move(2, 2)
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    assert writer.flush() is True
    events = lines_of(bytes(sink.data))[1:]
    assert [e["t"] for e in events] == [250.0]
    stats = writer.stats()
    assert (stats.events, stats.dropped, stats.pending) == (1, 2, 0)


def test_event_exactly_at_origin_is_kept(tmp_path: Path) -> None:
    writer, _, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.on_move(100, 50)
    writer.flush()
    assert lines_of(bytes(sink.data))[1]["t"] == 0.0


def test_file_order_is_time_order_across_threads(tmp_path: Path) -> None:
    writer = CursorWriter(tmp_path / "c.ndjson", context())
    writer.set_origin(monotonic=time.monotonic(), wall=WALL)
    per_thread = 5_000
    go = threading.Barrier(4)

    def produce(index: int) -> None:
        go.wait()
        for i in range(per_thread):
            writer.on_move(index, i)

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    go.wait()
    for _ in range(20):
        writer.flush()  # flushes race with the producers
    for thread in threads:
        thread.join()
    stats = writer.stop()
    events = read_cursor_log(writer.path).events
    assert stats.events == len(events) == 3 * per_thread and stats.dropped == 0
    assert all(a["t"] <= b["t"] for a, b in itertools.pairwise(events))
    for index in range(3):
        # x - region.x identifies the thread; each thread's events are in order, exactly once.
        mine = [e["y"] + 50 for e in events if e["x"] == index - 100]
        assert mine == list(range(per_thread))


# -- append-only, idle ticks ---------------------------------------------------


def test_idle_tick_makes_no_write_call(tmp_path: Path) -> None:
    writer, _, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.on_move(1, 1)
    assert writer.flush() is True
    writes, size = sink.writes, len(sink.data)
    for _ in range(5):
        assert writer.flush() is False
    assert (sink.writes, len(sink.data), sink.fsyncs) == (writes, size, 0)
    assert writer.stats().flushes_skipped == 5
    assert writer.stats().flushes_written == 1


def test_idle_tick_leaves_real_file_untouched(tmp_path: Path) -> None:
    writer, _, _ = make_writer(tmp_path)
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.on_move(1, 1)
    writer.flush()
    before = os.stat(writer.path)
    for _ in range(5):
        writer.flush()
    after = os.stat(writer.path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    writer.stop()


def test_flushes_only_append(tmp_path: Path) -> None:
    writer, clock, _ = make_writer(tmp_path)
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    snapshots: list[bytes] = []
    for step in range(4):
        clock.now = ORIGIN + step
        writer.on_move(step, step)
        writer.on_scroll(step, step, 1, 0)
        writer.flush()
        snapshots.append(writer.path.read_bytes())
    for older, newer in itertools.pairwise(snapshots):
        assert newer.startswith(older)
        new_lines = newer[len(older) :].decode().splitlines()
        assert [json.loads(line)["type"] for line in new_lines] == ["move", "scroll"]
    writer.stop()
    assert writer.path.read_bytes().startswith(snapshots[-1])


def test_flush_writes_new_events_in_one_call(tmp_path: Path) -> None:
    writer, _, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.flush()  # header
    for i in range(1000):
        writer.on_move(i, i)
    writes = sink.writes
    writer.flush()
    assert sink.writes == writes + 1
    assert writer.stats().pending == 0


# -- creation ---------------------------------------------------------------------


def test_file_created_only_once_origin_is_set(tmp_path: Path) -> None:
    writer, _, _ = make_writer(tmp_path)
    writer.on_move(1, 1)
    writer.flush()
    assert not writer.path.exists()
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.flush()
    assert writer.path.exists()
    writer.stop()


def test_refuses_to_clobber_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "cursor.ndjson"
    path.write_bytes(b"precious")
    with pytest.raises(OutputError, match="already exists"):
        CursorWriter(path, context())
    assert path.read_bytes() == b"precious"


def test_file_appearing_after_construction_is_not_clobbered(tmp_path: Path) -> None:
    errors: list[OSError] = []
    writer = CursorWriter(tmp_path / "cursor.ndjson", context(), clock=FakeClock(ORIGIN), on_error=errors.append)
    writer.path.write_bytes(b"precious")
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.on_move(1, 1)
    assert writer.flush() is False
    assert [e.errno for e in errors] == [errno.EEXIST]
    stats = writer.stop()
    assert writer.path.read_bytes() == b"precious"
    assert stats.dropped == 1 and stats.pending == 0 and stats.write_errors == 2


def test_no_events_gives_header_only_file(tmp_path: Path) -> None:
    writer, _, _ = make_writer(tmp_path)
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    stats = writer.stop()
    log = read_cursor_log(writer.path)
    assert log.events == [] and log.warnings == []
    assert log.header["first_frame_wall"] == WALL
    assert stats.events == 0 and stats.bytes_written == writer.path.stat().st_size


def test_origin_never_set_gives_header_with_null_first_frame(tmp_path: Path) -> None:
    writer, _, _ = make_writer(tmp_path)
    writer.on_move(1, 1)  # cannot be placed on the timeline
    stats = writer.stop()
    log = read_cursor_log(writer.path)
    assert log.events == []
    assert log.header["first_frame_wall"] is None and log.header["first_frame_utc"] is None
    assert stats.dropped == 1


def test_set_origin_twice_is_refused(tmp_path: Path) -> None:
    writer, _, _ = make_writer(tmp_path, sink=MemorySink())
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    with pytest.raises(CaptureError, match="already set"):
        writer.set_origin(monotonic=ORIGIN + 1, wall=WALL + 1)


def test_bad_arguments_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="region size"):
        Region(0, 0, 0, 10)
    with pytest.raises(ValueError, match="flush_interval"):
        CursorWriter(tmp_path / "c", context(), flush_interval=0)
    with pytest.raises(ValueError, match="max_pending"):
        CursorWriter(tmp_path / "c", context(), max_pending=0)
    with pytest.raises(ValueError, match="unit"):
        context(unit="inches")


# -- errors and the pending bound --------------------------------------------------


def test_enospc_keeps_events_and_reports_once(tmp_path: Path) -> None:
    errors: list[OSError] = []
    writer, clock, sink = make_writer(tmp_path, sink=MemorySink(), on_error=errors.append)
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.flush()
    good = bytes(sink.data)
    sink.fail_next = [errno.ENOSPC] * 3
    writer.on_move(100, 50)
    for _ in range(3):
        assert writer.flush() is False  # the disk stays full; recording goes on
        clock.now += 1
        writer.on_move(200, 50)
    stats = writer.stats()
    assert len(errors) == 1 and errors[0].errno == errno.ENOSPC
    assert stats.write_errors == 3 and stats.pending == 4 and stats.dropped == 0
    assert stats.last_error is not None and "No space left" in stats.last_error
    assert bytes(sink.data) == good
    assert writer.flush() is True  # space again: the kept events go out, oldest first
    events = lines_of(bytes(sink.data))[1:]
    assert [e["t"] for e in events] == [0.0, 1000.0, 2000.0, 3000.0]
    assert writer.stats().pending == 0 and writer.stats().events == 4


def test_new_error_episode_reports_again(tmp_path: Path) -> None:
    errors: list[OSError] = []
    writer, _, sink = make_writer(tmp_path, sink=MemorySink(), on_error=errors.append)
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    sink.fail_next = [errno.ENOSPC, errno.ENOSPC]
    writer.flush()
    writer.flush()
    writer.flush()  # recovers
    sink.fail_next = [errno.EIO]
    writer.on_move(1, 1)
    writer.flush()
    assert [e.errno for e in errors] == [errno.ENOSPC, errno.EIO]


def test_partial_write_leaves_no_torn_line(tmp_path: Path) -> None:
    writer, clock, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.flush()
    header_size = len(sink.data)
    for i in range(3):
        clock.now = ORIGIN + i
        writer.on_move(100 + i, 50 + i)
    sink.partial = 30  # mid-way through the first event line
    sink.fail_next = [errno.ENOSPC]
    assert writer.flush() is False
    assert len(sink.data) == header_size + 30 and not sink.data.endswith(b"\n")
    clock.now = ORIGIN + 10
    writer.on_move(0, 0)  # arrives while the tail waits: must come after it
    assert writer.flush() is True
    events = lines_of(bytes(sink.data))[1:]
    assert [(e["t"], e["x"]) for e in events] == [(0.0, 0), (1000.0, 1), (2000.0, 2), (10000.0, -100)]
    stats = writer.stats()
    assert stats.bytes_written == len(sink.data) and stats.events == 4


def test_short_write_without_error_is_completed(tmp_path: Path) -> None:
    class ShortSink(MemorySink):
        def write(self, data: memoryview) -> int:
            self.writes += 1
            self.data += data[:7]
            return min(7, len(data))

    writer, _, sink = make_writer(tmp_path, sink=ShortSink())
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.on_move(1, 2)
    assert writer.flush() is True
    assert len(lines_of(bytes(sink.data))) == 2


def test_pending_bound_drops_oldest(tmp_path: Path) -> None:
    writer, clock, sink = make_writer(tmp_path, sink=MemorySink(), max_pending=3)
    assert sink is not None
    for i in range(5):
        clock.now = ORIGIN + i
        writer.on_move(100 + i, 50)
    assert writer.stats().dropped == 2 and writer.stats().pending == 3
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.flush()
    assert [e["x"] for e in lines_of(bytes(sink.data))[1:]] == [2, 3, 4]


def test_pending_bound_while_disk_full(tmp_path: Path) -> None:
    errors: list[OSError] = []
    writer, clock, sink = make_writer(tmp_path, sink=MemorySink(), max_pending=2, on_error=errors.append)
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.flush()
    sink.fail_next = [errno.ENOSPC] * 100
    writer.on_move(100, 50)  # in flight when the disk fills: kept whole
    writer.flush()
    for i in range(1, 6):
        clock.now = ORIGIN + i
        writer.on_move(100 + i, 50)
        writer.flush()
    stats = writer.stats()
    assert stats.dropped == 3 and stats.pending == 3 and len(errors) == 1
    sink.fail_next = []
    writer.flush()  # the in-flight batch
    writer.flush()  # the two newest events
    assert [e["x"] for e in lines_of(bytes(sink.data))[1:]] == [0, 4, 5]


def test_stop_with_disk_still_full_counts_losses(tmp_path: Path) -> None:
    writer, _, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    sink.fail_next = [errno.ENOSPC] * 100
    writer.on_move(1, 1)
    writer.on_move(2, 2)
    stats = writer.stop()
    assert stats.dropped == 2 and stats.pending == 0 and stats.write_errors >= 1
    assert sink.closed


def test_on_error_callback_that_raises_does_not_break_the_writer(tmp_path: Path) -> None:
    def explode(_exc: OSError) -> None:
        raise RuntimeError("boom")

    writer, _, sink = make_writer(tmp_path, sink=MemorySink(), on_error=explode)
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    sink.fail_next = [errno.ENOSPC]
    assert writer.flush() is False
    last = writer.stats().last_error
    assert last is not None and "boom" in last
    assert writer.flush() is True


# -- thread and lifecycle ------------------------------------------------------------


def test_writer_thread_flushes_on_its_own(tmp_path: Path) -> None:
    writer = CursorWriter(tmp_path / "c.ndjson", context(), flush_interval=0.02)
    writer.start()
    try:
        writer.set_origin(monotonic=time.monotonic(), wall=WALL)
        writer.on_move(500, 300)
        assert wait_until(lambda: writer.stats().events == 1)
        assert len(read_cursor_log(writer.path).events) == 1
    finally:
        writer.stop()


def test_set_origin_wakes_the_writer_thread(tmp_path: Path) -> None:
    # A flush interval far longer than the deadline: only the wake-up can write in time.
    writer = CursorWriter(tmp_path / "c.ndjson", context(), flush_interval=3600.0)
    with writer:
        writer.set_origin(monotonic=time.monotonic(), wall=WALL)
        assert wait_until(writer.path.exists)


def test_stop_joins_thread_and_is_idempotent(tmp_path: Path) -> None:
    writer = CursorWriter(tmp_path / "c.ndjson", context(), flush_interval=3600.0)
    writer.start()
    thread = writer._thread
    assert thread is not None and thread.is_alive() and not thread.daemon
    writer.set_origin(monotonic=time.monotonic(), wall=WALL)
    writer.on_move(1, 1)
    first = writer.stop()
    assert not thread.is_alive()
    assert first.events == 1  # the final flush wrote it
    size = writer.path.stat().st_size
    second = writer.stop()
    assert second == first and writer.path.stat().st_size == size
    assert writer.flush() is False
    with pytest.raises(CaptureError):
        writer.start()
    with pytest.raises(CaptureError):
        writer.set_origin(monotonic=0.0, wall=0.0)


def test_stop_fsyncs_and_closes_once(tmp_path: Path) -> None:
    writer, _, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.on_move(1, 1)
    writer.flush()
    assert sink.fsyncs == 0  # not on every flush
    writer.stop()
    writer.stop()
    assert sink.fsyncs == 1 and sink.closed


def test_stop_without_start(tmp_path: Path) -> None:
    writer, _, _ = make_writer(tmp_path)
    writer.set_origin(monotonic=ORIGIN, wall=WALL)
    writer.stop()
    assert writer.path.exists()


# -- sidecar with a fake listener -----------------------------------------------------


class FakeButton(enum.Enum):
    left = 1
    right = 3


class FakeListener:
    """Mimics pynput.mouse.Listener's start/wait/stop/join/is_alive surface.

    ``ready=False`` makes wait() block like pynput's does when its thread died
    before it was ready (``dies_before_ready``) or never connects.
    ``outlives_join`` keeps the thread "alive" after join() times out, like
    pynput on Linux until the next X event; ``join_blocks`` ignores the timeout.
    """

    def __init__(
        self,
        *,
        ready: bool = True,
        dies_before_ready: bool = False,
        outlives_join: bool = False,
        join_blocks: bool = False,
        **callbacks: Any,
    ) -> None:
        self.callbacks = callbacks
        self.ready = ready
        self.dies_before_ready = dies_before_ready
        self.outlives_join = outlives_join
        self.join_blocks = join_blocks
        self.calls: list[str] = []
        self.join_timeouts: list[float | None] = []
        self._running = False
        self._never = threading.Event()

    def start(self) -> None:
        self.calls.append("start")
        self._running = not self.dies_before_ready

    def wait(self) -> None:
        self.calls.append("wait")
        if not self.ready:
            self._never.wait()

    def stop(self) -> None:
        self.calls.append("stop")

    def join(self, timeout: float | None = None) -> None:
        self.calls.append("join")
        self.join_timeouts.append(timeout)
        if self.join_blocks:
            self._never.wait()
        if not self.outlives_join:
            self._running = False

    def is_alive(self) -> bool:
        return self._running

    def release(self) -> None:
        self._never.set()


class FakeFactory:
    def __init__(self, **listener_kw: Any) -> None:
        self.listener_kw = listener_kw
        self.made: list[FakeListener] = []

    def __call__(self, **callbacks: Any) -> FakeListener:
        listener = FakeListener(**self.listener_kw, **callbacks)
        self.made.append(listener)
        return listener


def test_sidecar_feeds_writer_and_stops(tmp_path: Path) -> None:
    writer, _, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    factory = FakeFactory()
    with CursorSidecar(writer, listener_factory=factory) as sidecar:
        (listener,) = factory.made
        assert listener.calls == ["start", "wait"]
        assert set(listener.callbacks) == {"on_move", "on_click", "on_scroll"}
        sidecar.set_origin(monotonic=ORIGIN, wall=WALL)  # delegates to the writer
        listener.callbacks["on_move"](600, 300)
        listener.callbacks["on_move"](600, 300, False)  # pynput 1.8 adds `injected`
        listener.callbacks["on_click"](600, 300, FakeButton.left, True, False)
        listener.callbacks["on_click"](600, 300, FakeButton.left, False)
        listener.callbacks["on_scroll"](600, 300, 0, 1, True)
        assert sidecar.stats().pending == 5
    stats = sidecar.stop()  # idempotent after __exit__
    assert listener.calls == ["start", "wait", "stop", "join"]
    assert listener.join_timeouts == [cursor_mod.LISTENER_JOIN_TIMEOUT]
    assert sidecar.listener_error is None
    assert (stats.moves, stats.clicks, stats.scrolls) == (2, 2, 1)
    events = lines_of(bytes(sink.data))[1:]
    assert [(e.get("button"), e.get("pressed")) for e in events if e["type"] == "click"] == [
        ("left", True),
        ("left", False),
    ]
    assert sink.closed


def test_sidecar_stop_tolerates_listener_that_outlives_join(tmp_path: Path) -> None:
    writer, _, _ = make_writer(tmp_path, sink=MemorySink())
    factory = FakeFactory(outlives_join=True)
    sidecar = CursorSidecar(writer, listener_factory=factory)
    sidecar.start()
    sidecar.stop()
    assert sidecar.listener_error is not None and "did not exit" in sidecar.listener_error


def test_sidecar_stop_does_not_hang_on_a_join_that_never_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cursor_mod, "LISTENER_JOIN_TIMEOUT", 0.05)
    writer, _, sink = make_writer(tmp_path, sink=MemorySink())
    assert sink is not None
    factory = FakeFactory(join_blocks=True)
    sidecar = CursorSidecar(writer, listener_factory=factory)
    sidecar.start()
    writer_thread = writer._thread
    began = time.monotonic()
    sidecar.stop()
    elapsed = time.monotonic() - began
    factory.made[0].release()
    # Bounded by the join timeout plus the stop margin, far from "forever".
    assert elapsed < 0.05 + cursor_mod._LISTENER_STOP_MARGIN + 1.0
    assert sidecar.listener_error is not None
    assert writer_thread is not None and not writer_thread.is_alive()
    assert sink.closed


def test_sidecar_listener_never_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cursor_mod, "LISTENER_READY_TIMEOUT", 0.05)
    writer, _, _ = make_writer(tmp_path)
    factory = FakeFactory(ready=False)
    sidecar = CursorSidecar(writer, listener_factory=factory)
    with pytest.raises(CursorUnavailableError, match="not ready"):
        sidecar.start()
    factory.made[0].release()
    assert "stop" in factory.made[0].calls
    assert writer._thread is None  # the writer was left untouched
    sidecar.stop()  # a no-op after a failed start
    assert not writer.path.exists()


def test_sidecar_listener_dies_before_ready(tmp_path: Path) -> None:
    writer, _, _ = make_writer(tmp_path)
    factory = FakeFactory(ready=False, dies_before_ready=True)
    with pytest.raises(CursorUnavailableError, match="stopped before it was ready"):
        CursorSidecar(writer, listener_factory=factory).start()
    factory.made[0].release()
    assert writer._thread is None


def test_sidecar_listener_exits_right_after_ready(tmp_path: Path) -> None:
    writer, _, _ = make_writer(tmp_path)
    factory = FakeFactory(dies_before_ready=True)  # ready, but its thread is gone (macOS without permission)
    with pytest.raises(CursorUnavailableError, match="stopped right after starting"):
        CursorSidecar(writer, listener_factory=factory).start()
    assert writer._thread is None


def test_default_listener_without_display(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    writer, _, _ = make_writer(tmp_path)
    with pytest.raises(CursorUnavailableError, match="DISPLAY is not set"):
        CursorSidecar(writer).start()
    assert writer._thread is None


def test_default_listener_when_pynput_cannot_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":4242")
    monkeypatch.setitem(sys.modules, "pynput", None)  # makes `from pynput import mouse` fail
    writer, _, _ = make_writer(tmp_path)
    with pytest.raises(CursorUnavailableError, match="cursor capture unavailable") as info:
        CursorSidecar(writer).start()
    assert "\n" not in str(info.value)


def test_importing_module_needs_no_display() -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    code = ("import caprec.capture.cursor.format, caprec.capture.cursor.writer, caprec.capture.cursor.reader, "
            "caprec.capture.cursor.listener, sys;"
            " assert 'pynput' not in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=DEADLINE * 6)
    assert done.stdout.strip() == "ok", done.stderr


def test_capture_does_not_import_cli_or_ui_libraries() -> None:
    source = Path(cursor_mod.__file__).read_text()
    for banned in ("import typer", "import rich", "from rich", "from typer", "from cli", "import cli"):
        assert banned not in source


def test_on_error_cannot_stop_the_writer_from_its_thread(tmp_path: Path) -> None:
    sink = MemorySink()
    sink.fail_next = [errno.EIO]
    holder: list[CursorWriter] = []

    def stop_from_callback(_exc: OSError) -> None:
        holder[0].stop()

    writer = CursorWriter(
        tmp_path / "c.ndjson", context(), flush_interval=0.01, opener=lambda _p: sink, on_error=stop_from_callback
    )
    holder.append(writer)
    with writer:
        writer.set_origin(monotonic=time.monotonic(), wall=WALL)
        assert wait_until(lambda: writer.stats().flushes_written >= 1)
        last = writer.stats().last_error
        assert last is not None and "own thread" in last
    assert sink.closed
