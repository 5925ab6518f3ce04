"""The frame composer's drawing, measured in the pixels it writes: the cursor's size (--cursor-size, the zoom),
its place in a zoomed view, the shrink click effect and ``--clicks off``.

The source is a black yuv420p frame, so every bright output pixel is the pointer (or a ring).
"""

from __future__ import annotations

import numpy as np
import pytest
from caprec.capture.render.compose import CursorStyle, FrameComposer, Planes, frame_bytes
from caprec.capture.render.cursor_art import SHRINK_TO
from caprec.capture.render.spec import ClickEffect, Smoothing, ZoomSegment
from caprec.capture.render.spring import CursorTrack, SmoothCursor
from caprec.capture.render.zoom import ZoomTrack

W, H = 640, 360
# The arrow's white fill (Y 235) against black (Y 16) and its dark outline.
BRIGHT = 200
PRESS = (1.0, 300.0, 200.0)  # (t, x, y): held for half a second
RELEASE_T = 1.5
# Some frames before the press, one while held (the shrink is complete after 130 ms), one after the release.
BEFORE_T, HELD_T, AFTER_T = 0.5, 1.3, 1.8


def _track() -> CursorTrack:
    times = np.array([0.0, PRESS[0], RELEASE_T])
    xs = np.array([PRESS[1]] * 3)
    ys = np.array([PRESS[2]] * 3)
    return CursorTrack(times, xs, ys, (PRESS,), ((PRESS[0], RELEASE_T),))


def _frames(*, size: float = 1.0, clicks: ClickEffect = ClickEffect.OFF,
            zoom: tuple[ZoomSegment, ...] = ()) -> dict[float, np.ndarray]:
    """The luma of frames composed at BEFORE_T, HELD_T and AFTER_T (in order: the composer keeps state)."""
    track = _track()
    composer = FrameComposer(source_size=(W, H), output_size=(W, H), track=track,
                             cursor=SmoothCursor(track, Smoothing.OFF), zoom=ZoomTrack(zoom, W, H),
                             style=CursorStyle(size=size, clicks=clicks, hide_idle_s=None))
    source = np.empty(frame_bytes(W, H), dtype=np.uint8)
    source[:W * H] = 16
    source[W * H:] = 128
    frames = {}
    for t in (BEFORE_T, HELD_T, AFTER_T):
        out = np.zeros(frame_bytes(W, H), dtype=np.uint8)
        composer.compose(t, Planes.of(source, W, H), Planes.of(out, W, H))
        frames[t] = Planes.of(out, W, H).y.copy()
    return frames


def _arrow(luma: np.ndarray) -> tuple[int, int, int]:
    """The bright arrow's tip (topmost row, leftmost pixel in it) and its height in rows."""
    ys, xs = np.nonzero(luma > BRIGHT)
    assert len(ys), "no cursor drawn"
    top = int(ys.min())
    return int(xs[ys == top].min()), top, int(ys.max()) - top + 1


def _scaled(height: int, plain: int, factor: float) -> bool:
    """``height`` is ``factor`` times ``plain``: within 2 px or 8 % (the anti-aliased tip is a few rows)."""
    return abs(height - factor * plain) <= max(2.0, 0.08 * factor * plain)


def test_cursor_size_and_the_zoom_scale_the_drawn_arrow() -> None:
    plain = _arrow(_frames()[BEFORE_T])
    assert abs(plain[0] - PRESS[1]) <= 2 and abs(plain[1] - PRESS[2]) <= 2, plain
    double = _arrow(_frames(size=2.0)[BEFORE_T])
    assert _scaled(double[2], plain[2], 2.0), (plain, double)
    assert abs(double[0] - PRESS[1]) <= 2 and abs(double[1] - PRESS[2]) <= 2, double
    # A fixed 2x zoom on the frame's centre: the view starts at (160, 90) and the cursor is drawn at twice the size,
    # where its logged position lands in the view.
    zoomed = _arrow(_frames(zoom=(ZoomSegment(0.0, 10.0, 2.0, (0.5, 0.5), 0.0),))[BEFORE_T])
    assert _scaled(zoomed[2], plain[2], 2.0), (plain, zoomed)
    expected = ((PRESS[1] - W / 4) * 2, (PRESS[2] - H / 4) * 2)
    assert abs(zoomed[0] - expected[0]) <= 2 and abs(zoomed[1] - expected[1]) <= 2, (zoomed, expected)


def test_shrink_draws_the_cursor_at_0_8_while_held_and_full_size_after() -> None:
    frames = _frames(clicks=ClickEffect.SHRINK)
    before, held, after = (_arrow(frames[t]) for t in (BEFORE_T, HELD_T, AFTER_T))
    assert _scaled(held[2], before[2], SHRINK_TO), (before, held)
    assert held[2] < before[2] - 2
    assert after[2] == before[2], (before, after)
    assert held[:2] == before[:2]  # it shrinks towards its hotspot: the tip stays on the click


def test_clicks_off_draws_no_effect_and_ring_draws_one() -> None:
    quiet = _frames(clicks=ClickEffect.OFF)
    assert all(_arrow(frame)[2] == _arrow(quiet[BEFORE_T])[2] for frame in quiet.values())
    assert all(np.array_equal(frame, quiet[BEFORE_T]) for frame in quiet.values())  # nothing but the arrow
    ring = _frames(clicks=ClickEffect.RING)
    # 0.3 s after the press the ring is out: bright pixels above and left of the click, where the arrow is not.
    above = ring[HELD_T][:int(PRESS[2]) - 3, :]
    left = ring[HELD_T][:, :int(PRESS[1]) - 3]
    assert (above > 100).sum() > 10 and (left > 100).sum() > 10
    assert (quiet[HELD_T][:int(PRESS[2]) - 3, :] > 100).sum() == 0


@pytest.mark.parametrize("size", [0.5, 3.0])
def test_the_arrow_scales_in_proportion(size: float) -> None:
    plain = _arrow(_frames()[BEFORE_T])[2]
    assert _scaled(_arrow(_frames(size=size)[BEFORE_T])[2], plain, size)
