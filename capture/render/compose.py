"""One output frame from one source frame: the zoomed view, resampled bilinearly, and the cursor on top.

Frames are yuv420p planes (1.5 bytes a pixel, half what rgb24 moves
through the pipes). The view is resampled separably (rows, then columns)
from only the rows and columns it needs, in float32, so a zoom or pan by
a fraction of a pixel moves the picture by that fraction: no whole-pixel
stepping. The cursor and click effects are blended only inside their
small boxes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from caprec.capture.render.card import Card, finish_card
from caprec.capture.render.cursor_art import (
    ShapeTrack,
    Sprite,
    arrow_height,
    arrow_sprite,
    bitmap_sprite,
    ring_at,
    ring_sprite,
    shrink_at,
)
from caprec.capture.render.spec import ClickEffect
from caprec.capture.render.spring import CursorTrack, SmoothCursor
from caprec.capture.render.zoom import View, ZoomTrack

Bytes = npt.NDArray[np.uint8]
# Idle hiding fades over this long once the delay is over (Cap: 400 ms).
IDLE_FADE_S = 0.4
# BT.601 limited range (swscale's default for yuv420p from RGB).
_Y = (65.481, 128.553, 24.966)
_U = (-37.797, -74.203, 112.0)
_V = (112.0, -93.786, -18.214)


@dataclass(frozen=True)
class Planes:
    """The Y, U and V planes of one yuv420p frame, as views into its buffer."""

    y: Bytes
    u: Bytes
    v: Bytes

    @classmethod
    def of(cls, buffer: Bytes, width: int, height: int) -> Planes:
        luma = width * height
        chroma = luma // 4
        return cls(buffer[:luma].reshape(height, width),
                   buffer[luma:luma + chroma].reshape(height // 2, width // 2),
                   buffer[luma + chroma:luma + 2 * chroma].reshape(height // 2, width // 2))


def frame_bytes(width: int, height: int) -> int:
    """Bytes of one yuv420p frame (even sizes)."""
    return width * height * 3 // 2


# Sub-pixel weights in fixed point: 7 bits (1/128 px) keep every product in
# uint16 (255 * 128 = 32640), which numpy moves at twice float32's speed;
# measured 3.9 ms against 21 ms in float32 for a 1280x720 plane.
WEIGHT_BITS = 7
WEIGHT_ONE = 1 << WEIGHT_BITS
_HALF = WEIGHT_ONE // 2
Index = npt.NDArray[np.intp]
Weights = npt.NDArray[np.uint16]


def _axis(start: float, length: float, count: int, limit: int) -> tuple[Index, Weights]:
    """Source indices and fixed-point weights along one axis: ``count`` samples over ``start``..``start+length``."""
    coords = start + (np.arange(count, dtype=np.float64) + 0.5) * (length / count) - 0.5
    coords = np.clip(coords, 0.0, limit - 1.0)
    index = np.minimum(np.floor(coords).astype(np.intp), limit - 2)
    weights = np.rint((coords - index) * WEIGHT_ONE).astype(np.uint16)
    return index, weights


def resample(source: Bytes, out: Bytes, x: float, y: float, width: float, height: float) -> None:
    """Fill ``out`` with the ``width`` x ``height`` region of ``source`` at (``x``, ``y``), bilinearly.

    Coordinates are fractional source pixels (resolved to 1/128 px). A
    region that maps pixel for pixel onto ``out`` is copied.
    """
    out_h, out_w = out.shape
    src_h, src_w = source.shape
    if width == out_w and height == out_h and x == int(x) and y == int(y):
        out[:] = source[int(y):int(y) + out_h, int(x):int(x) + out_w]
        return
    xi, fx = _axis(x, width, out_w, src_w)
    yi, fy = _axis(y, height, out_h, src_h)
    first, last = int(xi[0]), int(xi[-1]) + 2
    columns = source[:, first:last]
    # Rows first, on only the columns the view needs.
    rows = np.take(columns, yi, axis=0).astype(np.uint16)
    rows *= (WEIGHT_ONE - fy)[:, None]
    rows += np.take(columns, yi + 1, axis=0) * fy[:, None]
    rows += _HALF
    rows >>= WEIGHT_BITS
    xi -= first
    left = np.take(rows, xi, axis=1)
    right = np.take(rows, xi + 1, axis=1)
    left *= WEIGHT_ONE - fx
    right *= fx
    left += right
    left += _HALF
    left >>= WEIGHT_BITS
    out[:] = left


def transform(source: Planes, out: Planes, view: View) -> None:
    """Show ``view`` of ``source`` in ``out`` (all three planes)."""
    resample(source.y, out.y, view.x, view.y, view.width, view.height)
    for src, dst in ((source.u, out.u), (source.v, out.v)):
        resample(src, dst, view.x / 2.0, view.y / 2.0, view.width / 2.0, view.height / 2.0)


def blend(frame: Planes, sprite: Sprite) -> None:
    """Draw premultiplied ``sprite`` over ``frame``, clipped to it."""
    height, width = frame.y.shape
    x0, y0 = max(sprite.x, 0), max(sprite.y, 0)
    x1 = min(sprite.x + sprite.alpha.shape[1], width)
    y1 = min(sprite.y + sprite.alpha.shape[0], height)
    if x1 <= x0 or y1 <= y0:
        return
    sx, sy = x0 - sprite.x, y0 - sprite.y
    alpha = sprite.alpha[sy:sy + y1 - y0, sx:sx + x1 - x0]
    rgb = sprite.rgb[sy:sy + y1 - y0, sx:sx + x1 - x0]
    luma = 16.0 * alpha + rgb @ np.asarray(_Y, dtype=np.float32)
    region = frame.y[y0:y1, x0:x1]
    region[:] = (region * (1.0 - alpha) + luma + 0.5).astype(np.uint8)
    # Chroma: average the premultiplied sprite over each 2x2 block (the box is even-aligned).
    h2, w2 = (y1 - y0) // 2, (x1 - x0) // 2
    if h2 == 0 or w2 == 0:
        return
    a2 = alpha[:h2 * 2, :w2 * 2].reshape(h2, 2, w2, 2).mean(axis=(1, 3))
    c2 = rgb[:h2 * 2, :w2 * 2].reshape(h2, 2, w2, 2, 3).mean(axis=(1, 3))
    for plane, weights in ((frame.u, _U), (frame.v, _V)):
        part = plane[y0 // 2:y0 // 2 + h2, x0 // 2:x0 // 2 + w2]
        value = 128.0 * a2 + c2 @ np.asarray(weights, dtype=np.float32)
        part[:] = (part * (1.0 - a2) + value + 0.5).astype(np.uint8)


@dataclass(frozen=True)
class CursorStyle:
    """How the pointer is drawn: size factor, click effect, idle hiding (seconds or None)."""

    size: float
    clicks: ClickEffect
    hide_idle_s: float | None


@dataclass(frozen=True)
class FrameInfo:
    """What a frame showed: its view and the cursor's hotspot in output pixels (None if not drawn)."""

    view: View
    cursor: tuple[float, float] | None


class FrameComposer:
    """Composes output frames in time order; holds the per-render state (springs, indices).

    ``times`` are seconds on the joined timeline. The state is constant in
    size, so memory does not grow with the recording's length.
    """

    def __init__(self, *, source_size: tuple[int, int], output_size: tuple[int, int], track: CursorTrack,
                 cursor: SmoothCursor, zoom: ZoomTrack, style: CursorStyle, card: Card | None = None,
                 shapes: ShapeTrack | None = None) -> None:
        self._source_size = source_size
        self._output_size = output_size
        self._track = track
        self._cursor = cursor
        self._zoom = zoom
        self._style = style
        self._card = card
        self._shapes = shapes
        self._press_index = 0
        self._next_index = 0

    def _press_near(self, t: float, before: float) -> tuple[float, float, float] | None:
        """The latest press at or before ``t`` that is at most ``before`` seconds old."""
        presses = self._track.presses
        while self._press_index + 1 < len(presses) and presses[self._press_index + 1][0] <= t:
            self._press_index += 1
        if presses and presses[self._press_index][0] <= t and t - presses[self._press_index][0] <= before:
            return presses[self._press_index]
        return None

    def _segment_press(self, t: float) -> tuple[float, float] | None:
        """Where the next press (at or after ``t``) happens: an automatic segment aims there first."""
        presses = self._track.presses
        while self._next_index < len(presses) and presses[self._next_index][0] < t:
            self._next_index += 1
        if self._next_index >= len(presses):
            return None
        return presses[self._next_index][1], presses[self._next_index][2]

    def compose(self, t: float, source: Planes, out: Planes) -> FrameInfo:
        """Write the frame at ``t`` into ``out``; returns its view and where the cursor went."""
        position = self._cursor.at(t)
        view = self._zoom.view(t, position, first_press=self._segment_press(t))
        left, top, width = self._draw_view(source, out, view)
        if position is None:
            return FrameInfo(view, None)
        to_out = width / view.width
        hx = left + (position[0] - view.x) * to_out
        hy = top + (position[1] - view.y) * to_out
        arrow_px = arrow_height(self._source_size[1], self._style.size) * to_out
        opacity = self._opacity(t)
        if self._style.clicks is ClickEffect.RING:
            press = self._press_near(t, 1.0)
            ring = None if press is None else ring_at(t - press[0], arrow_px)
            if press is not None and ring is not None:
                radius, ring_width, alpha = ring
                blend(out, ring_sprite(left + (press[1] - view.x) * to_out, top + (press[2] - view.y) * to_out,
                                       radius, ring_width, alpha))
        if opacity <= 0.0:
            return FrameInfo(view, None)
        factor = self._shrink(t) if self._style.clicks is ClickEffect.SHRINK else 1.0
        image = None if self._shapes is None else self._shapes.at(t)
        if image is None:
            blend(out, arrow_sprite(hx, hy, arrow_px * factor, opacity))
        else:  # the pointer's real image, as recorded
            blend(out, bitmap_sprite(image, hx, hy, to_out * self._style.size * factor, to_out, opacity))
        return FrameInfo(view, (hx, hy))

    def _draw_view(self, source: Planes, out: Planes, view: View) -> tuple[int, int, int]:
        """Draw ``view`` into the whole frame, or into the card's box; returns the box's left, top, width."""
        card = self._card
        if card is None:
            transform(source, out, view)
            return 0, 0, self._output_size[0]
        for plane, background in zip((out.y, out.u, out.v), card.background, strict=True):
            np.copyto(plane, background)
        x, y, w, h = card.box
        box = Planes(out.y[y:y + h, x:x + w], out.u[y // 2:(y + h) // 2, x // 2:(x + w) // 2],
                     out.v[y // 2:(y + h) // 2, x // 2:(x + w) // 2])
        transform(source, box, view)
        finish_card(card, (out.y, out.u, out.v))
        return x, y, w

    def _shrink(self, t: float) -> float:
        press = self._press_near(t, math.inf)
        if press is None:
            return 1.0
        hold = self._track.hold_of(press[0])
        release = None if hold is None else hold[1]
        return shrink_at(t - press[0], None if release is None or release > t else t - release)

    def _opacity(self, t: float) -> float:
        delay = self._style.hide_idle_s
        if delay is None:
            return 1.0
        moved = self._track.last_move_before(t)
        if moved is None:
            return 1.0
        idle = t - moved - delay
        return 1.0 if idle <= 0 else max(0.0, 1.0 - idle / IDLE_FADE_S)
