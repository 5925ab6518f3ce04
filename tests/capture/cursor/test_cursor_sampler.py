"""The pointer sampler: reads per interval while the pointer moves, none while it rests, wakes on motion.

The state machine runs with a scripted reader and a pipe as its waker; the X
parts (libxcb's QueryPointer through ctypes, XInput2 motion as a wake-up)
run against a real Xvfb moved by xdotool.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from caprec.capture.cursor.sampler import PointerSampler
from caprec.capture.cursor.x11_pointer import open_motion_waker, open_pointer_reader
from support.polling import wait_until
from support.xserver import XServer

WAIT_S = 5.0
INTERVAL_S = 0.01
IDLE_AFTER_S = 0.05
# Long enough that a resting sampler's only reads in a test are the ones it makes when woken.
LONG_IDLE_CHECK_S = 30.0
XDOTOOL_TIMEOUT_S = 5.0


class ScriptedPointer:
    """A pointer whose position the test sets; counts reads."""

    def __init__(self) -> None:
        self.position: tuple[int, int] | None = (10, 20)
        self.reads = 0
        self.lock = threading.Lock()

    def read(self) -> tuple[int, int] | None:
        with self.lock:
            self.reads += 1
            return self.position


class PipeWaker:
    """A waker whose "motion" is a byte the test writes."""

    def __init__(self, *, arm_ok: bool = True) -> None:
        self.r, self.w = os.pipe()
        self.arm_ok = arm_ok
        self.arms = 0
        self.disarms = 0
        self.closed = False

    def fileno(self) -> int:
        return self.r

    def arm(self) -> bool:
        self.arms += 1
        return self.arm_ok

    def disarm(self) -> bool:
        self.disarms += 1
        os.set_blocking(self.r, False)
        with contextlib.suppress(BlockingIOError):
            os.read(self.r, 1024)
        return True

    def fire(self) -> None:
        os.write(self.w, b"m")

    def close(self) -> None:
        self.closed = True
        os.close(self.r)
        os.close(self.w)


class Running:
    def __init__(self, sampler: PointerSampler) -> None:
        self.sampler = sampler
        self.thread = threading.Thread(target=sampler.run, name="test-sampler")

    def stop(self) -> None:
        self.sampler.stop()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "the sampler did not stop"
        self.sampler.close()


@pytest.fixture
def moves() -> list[tuple[float, int, int]]:
    return []


def start(pointer: ScriptedPointer, moves: list[tuple[float, int, int]], waker: PipeWaker | None,
          *, idle_check: float = LONG_IDLE_CHECK_S) -> Running:
    sampler = PointerSampler(pointer.read, lambda x, y: moves.append((time.monotonic(), x, y)),
                             interval=INTERVAL_S, waker=waker, idle_after=IDLE_AFTER_S, idle_check=idle_check)
    running = Running(sampler)
    running.thread.start()
    return running


def test_a_moving_pointer_is_reported_once_per_change(moves: list[tuple[float, int, int]]) -> None:
    pointer = ScriptedPointer()
    running = start(pointer, moves, None)
    try:
        wait_until(lambda: moves, WAIT_S, message="the first position")
        for x in (11, 12, 13):
            with pointer.lock:
                pointer.position = (x, 20)
            wait_until(lambda: moves[-1][1:] == pointer.position, WAIT_S, message=f"the move to x={x}")
        reads = pointer.reads
        wait_until(lambda: pointer.reads >= reads + 5, WAIT_S, message="more reads")
    finally:
        running.stop()
    assert [m[1:] for m in moves] == [(10, 20), (11, 20), (12, 20), (13, 20)]


def test_a_resting_pointer_is_not_read_until_the_waker_fires(moves: list[tuple[float, int, int]]) -> None:
    pointer, waker = ScriptedPointer(), PipeWaker()
    running = start(pointer, moves, waker)
    try:
        wait_until(lambda: running.sampler.idle, WAIT_S, message="the sampler to rest")
        assert waker.arms == 1
        reads = pointer.reads
        # Ten intervals without a single read: the resting sampler sleeps in poll().
        done = threading.Event()
        done.wait(10 * INTERVAL_S)
        assert pointer.reads == reads
        with pointer.lock:
            pointer.position = (300, 400)
        fired = time.monotonic()
        waker.fire()
        wait_until(lambda: moves[-1][1:] == (300, 400), WAIT_S, message="the first move after the rest")
        # Read when the waker fired, not at some later tick.
        assert moves[-1][0] - fired < 1.0
        wait_until(lambda: not running.sampler.idle, WAIT_S, message="the sampler to wake")
        assert waker.disarms == 1
        # Awake again: it reads every interval until it rests once more.
        wait_until(lambda: running.sampler.idle and waker.arms == 2, WAIT_S, message="the second rest")
    finally:
        running.stop()
    assert waker.closed


def test_a_move_between_the_last_read_and_the_arm_is_not_lost(moves: list[tuple[float, int, int]]) -> None:
    pointer = ScriptedPointer()

    class MovingWhileArming(PipeWaker):
        def arm(self) -> bool:
            with pointer.lock:
                pointer.position = (55, 66)  # moves just before the server starts sending motion
            return super().arm()

    waker = MovingWhileArming()
    running = start(pointer, moves, waker)
    try:
        wait_until(lambda: (55, 66) in [m[1:] for m in moves], WAIT_S, message="the move made while arming")
    finally:
        running.stop()


def test_without_a_working_waker_it_reads_every_interval(moves: list[tuple[float, int, int]]) -> None:
    pointer, waker = ScriptedPointer(), PipeWaker(arm_ok=False)
    running = start(pointer, moves, waker)
    try:
        wait_until(lambda: waker.closed, WAIT_S, message="the broken waker to be dropped")
        reads = pointer.reads
        wait_until(lambda: pointer.reads >= reads + 10, WAIT_S, message="reads going on")
        assert not running.sampler.idle
    finally:
        running.stop()


def test_a_resting_sampler_still_checks_now_and_then(moves: list[tuple[float, int, int]]) -> None:
    """A move no event announces (a warp over a window that takes motion itself) is still seen."""
    pointer, waker = ScriptedPointer(), PipeWaker()
    running = start(pointer, moves, waker, idle_check=0.05)
    try:
        wait_until(lambda: running.sampler.idle, WAIT_S, message="the sampler to rest")
        with pointer.lock:
            pointer.position = (7, 8)
        wait_until(lambda: moves[-1][1:] == (7, 8), WAIT_S, message="the unannounced move")
    finally:
        running.stop()


def test_it_ends_when_the_display_goes_away_and_stops_at_once_while_resting(
        moves: list[tuple[float, int, int]]) -> None:
    pointer = ScriptedPointer()
    running = start(pointer, moves, None)
    with pointer.lock:
        pointer.position = None
    running.thread.join(WAIT_S)
    assert not running.thread.is_alive()
    running.sampler.close()

    resting = start(ScriptedPointer(), [], PipeWaker())
    wait_until(lambda: resting.sampler.idle, WAIT_S, message="the sampler to rest")
    began = time.monotonic()
    resting.stop()
    assert time.monotonic() - began < LONG_IDLE_CHECK_S / 10


# ------------------------------------------------------------------ real X


def xdotool(xvfb: XServer, *args: str) -> None:
    subprocess.run(["xdotool", *args], env=xvfb.env, check=True, timeout=XDOTOOL_TIMEOUT_S)


@pytest.fixture
def on_display(xvfb: XServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[XServer]:
    monkeypatch.setenv("DISPLAY", xvfb.display)
    yield xvfb


@pytest.mark.x11
@pytest.mark.parametrize("library", [None, "libcaprec-no-such-xcb.so.1"], ids=["libxcb", "python-xlib-fallback"])
def test_the_pointer_reader_reads_where_xdotool_put_it(on_display: XServer, library: str | None) -> None:
    reader = open_pointer_reader(xcb_library=library)
    assert reader is not None
    read, close = reader
    try:
        for spot in ((123, 45), (1001, 602)):
            xdotool(on_display, "mousemove", "--sync", *map(str, spot))
            assert read() == spot
    finally:
        close()
        close()  # idempotent


@pytest.mark.x11
@pytest.mark.parametrize("move", [("mousemove", "400", "300"), ("mousemove_relative", "--", "7", "3")],
                         ids=["warp", "device-motion"])
def test_the_motion_waker_fires_only_while_armed(on_display: XServer, move: tuple[str, ...]) -> None:
    import select

    xdotool(on_display, "mousemove", "--sync", "100", "100")
    waker = open_motion_waker()
    assert waker is not None, "Xvfb has XInput 2.2"
    poller = select.poll()
    poller.register(waker.fileno(), select.POLLIN)
    try:
        xdotool(on_display, "mousemove", "--sync", "110", "110")  # not armed: no event
        assert waker.drain()
        assert poller.poll(0) == []
        assert waker.arm()
        xdotool(on_display, *move)
        assert poller.poll(WAIT_S * 1000), "no motion event after arm()"
        assert waker.disarm()
        xdotool(on_display, "mousemove", "--sync", "120", "120")  # disarmed again
        assert waker.drain()
        assert poller.poll(0) == []
    finally:
        waker.close()
