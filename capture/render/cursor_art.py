"""The pointer and the click ring as small premultiplied RGBA sprites, drawn at sub-pixel positions.

Shapes are rasterised from a signed distance field over a small box, so
the arrow is anti-aliased at any size and any fractional position (no
whole-pixel stepping while it glides). A sprite's box starts on even
coordinates so that it lines up with the 2x2 chroma blocks of yuv420p.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]

# The classic arrow, hotspot at (0, 0), in units of its height.
ARROW = np.array([(0, 0), (0, 16), (4, 12.5), (7, 18.5), (9.6, 17.3), (6.8, 11.4), (12, 11.4)],
                 dtype=np.float64) / 18.5
# The arrow is this share of the source frame's height (at least MIN px),
# like a real pointer on that screen, before --cursor-size and the zoom.
ARROW_HEIGHT_SHARE = 0.035
MIN_ARROW_PX = 20.0
OUTLINE_SHARE = 0.07
FILL = (1.0, 1.0, 1.0)
OUTLINE = (0.0, 0.0, 0.0)
RING_COLOUR = (1.0, 1.0, 1.0)
RING_ALPHA = 0.85
# A click's ring grows from RING_START to RING_END arrow heights over RING_S seconds while it fades.
RING_S = 0.45
RING_START = 0.3
RING_END = 1.3
RING_WIDTH_SHARE = 0.12
# Cap's click feedback: the cursor shrinks to 0.8 over 130 ms with a smoothstep.
SHRINK_TO = 0.8
SHRINK_S = 0.13


@dataclass(frozen=True)
class Sprite:
    """Premultiplied colour (h, w, 3) and alpha (h, w), float32 0-1, whose top-left is (x, y) (even)."""

    x: int
    y: int
    rgb: Floats
    alpha: Floats


def arrow_height(source_height: int, size: float) -> float:
    """The arrow's height in source pixels for ``size`` (1.0 = default)."""
    return max(MIN_ARROW_PX, source_height * ARROW_HEIGHT_SHARE) * size


def _grid(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, npt.NDArray[np.float64],
                                                               npt.NDArray[np.float64]]:
    """An even-aligned box covering (x0, y0)-(x1, y1): its origin and pixel-centre coordinates."""
    bx = math.floor(x0) - 1
    by = math.floor(y0) - 1
    bx -= bx % 2
    by -= by % 2
    w = math.ceil(x1) + 2 - bx
    h = math.ceil(y1) + 2 - by
    w += w % 2
    h += h % 2
    xs = bx + np.arange(w, dtype=np.float64) + 0.5
    ys = by + np.arange(h, dtype=np.float64) + 0.5
    return bx, by, xs[None, :], ys[:, None]


def _polygon_distance(poly: npt.NDArray[np.float64], px: npt.NDArray[np.float64],
                      py: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Signed distance from each (px, py) to ``poly``'s outline: negative inside."""
    best = np.full(np.broadcast_shapes(px.shape, py.shape), np.inf)
    inside = np.zeros(best.shape, dtype=bool)
    for (ax, ay), (bx, by) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        ex, ey = bx - ax, by - ay
        t = np.clip(((px - ax) * ex + (py - ay) * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        best = np.minimum(best, np.hypot(px - ax - t * ex, py - ay - t * ey))
        crosses = (ay > py) != (by > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            meet = ax + (py - ay) * ex / np.where(ey == 0, 1.0, ey)
        inside ^= crosses & (px < meet)
    return np.where(inside, -best, best)


def arrow_sprite(hotspot_x: float, hotspot_y: float, height: float, opacity: float = 1.0) -> Sprite:
    """The arrow, ``height`` output pixels tall, its tip at the (fractional) hotspot."""
    border = max(1.0, height * OUTLINE_SHARE)
    poly = ARROW * height + (hotspot_x, hotspot_y)
    bx, by, gx, gy = _grid(poly[:, 0].min() - border, poly[:, 1].min() - border,
                           poly[:, 0].max() + border, poly[:, 1].max() + border)
    distance = _polygon_distance(poly, gx, gy)
    alpha = np.clip(border + 0.5 - distance, 0.0, 1.0) * opacity
    fill = np.clip(0.5 - distance, 0.0, 1.0)
    rgb = np.stack([(fill * f + (1 - fill) * o) * alpha for f, o in zip(FILL, OUTLINE, strict=True)], axis=-1)
    return Sprite(bx, by, rgb.astype(np.float32), alpha.astype(np.float32))


def ring_sprite(centre_x: float, centre_y: float, radius: float, width: float, opacity: float) -> Sprite:
    """An anti-aliased ring of ``radius`` and line ``width`` (output pixels) around the centre."""
    reach = radius + width
    bx, by, gx, gy = _grid(centre_x - reach, centre_y - reach, centre_x + reach, centre_y + reach)
    distance = np.abs(np.hypot(gx - centre_x, gy - centre_y) - radius)
    alpha = np.clip(width / 2.0 + 0.5 - distance, 0.0, 1.0) * opacity
    rgb = np.stack([alpha * c for c in RING_COLOUR], axis=-1)
    return Sprite(bx, by, rgb.astype(np.float32), alpha.astype(np.float32))


def ring_at(age_s: float, arrow_px: float) -> tuple[float, float, float] | None:
    """(radius, width, opacity) of a click's ring ``age_s`` after the press, None once it has faded."""
    if not 0.0 <= age_s < RING_S:
        return None
    progress = age_s / RING_S
    eased = 1.0 - (1.0 - progress) ** 3
    radius = arrow_px * (RING_START + (RING_END - RING_START) * eased)
    return radius, max(1.5, arrow_px * RING_WIDTH_SHARE), RING_ALPHA * (1.0 - progress * progress)


def shrink_at(since_press_s: float | None, since_release_s: float | None) -> float:
    """The cursor's size factor: 0.8 while a button is held, easing over 130 ms each way."""
    def smoothstep(x: float) -> float:
        x = min(1.0, max(0.0, x))
        return x * x * (3.0 - 2.0 * x)

    if since_press_s is None:
        return 1.0
    down = smoothstep(since_press_s / SHRINK_S)
    up = 0.0 if since_release_s is None else smoothstep(since_release_s / SHRINK_S)
    return 1.0 - (1.0 - SHRINK_TO) * down * (1.0 - up)


@dataclass(frozen=True)
class ShapeImage:
    """A recorded pointer image: premultiplied RGBA float32 (h, w, 4), padded by one clear pixel, and its
    hotspot (in the unpadded image)."""

    rgba: Floats
    xhot: int
    yhot: int


@dataclass(frozen=True)
class ShapeTrack:
    """Which recorded image the pointer had from each time on (seconds), and the images by id."""

    times: tuple[float, ...]
    ids: tuple[str, ...]
    images: dict[str, ShapeImage]

    def at(self, t: float) -> ShapeImage | None:
        """The image at ``t``; before the first change, the first one (the image the pointer had at the start,
        logged a moment after the first frame)."""
        index = max(0, bisect.bisect_right(self.times, t) - 1)
        return self.images.get(self.ids[index]) if self.ids else None


def shape_image(width: int, height: int, rgba: bytes, xhot: int, yhot: int) -> ShapeImage:
    """A :class:`ShapeImage` from straight RGBA bytes."""
    pixels = np.frombuffer(rgba, dtype=np.uint8).reshape(height, width, 4).astype(np.float32) / 255.0
    pixels[..., :3] *= pixels[..., 3:4]
    return ShapeImage(np.pad(pixels, ((1, 1), (1, 1), (0, 0))), xhot, yhot)


def bitmap_sprite(image: ShapeImage, hotspot_x: float, hotspot_y: float, scale: float, pixel: float,
                  opacity: float = 1.0) -> Sprite:
    """``image`` scaled by ``scale`` (output px per image px), its hotspot pixel centred where the pointer's
    pixel (``pixel`` output px wide, top-left at the hotspot) is: bilinear, at sub-pixel positions."""
    padded_h, padded_w = image.rgba.shape[:2]
    # Output point of the hotspot pixel's centre; image pixel j's centre is at j + 0.5 (+1 for the padding).
    cx, cy = hotspot_x + pixel / 2.0, hotspot_y + pixel / 2.0
    left = cx - (image.xhot + 1.5) * scale
    top = cy - (image.yhot + 1.5) * scale
    bx, by, gx, gy = _grid(left, top, left + padded_w * scale, top + padded_h * scale)
    u = np.clip((gx - cx) / scale + image.xhot + 1.5 - 0.5, 0.0, padded_w - 1.001)[0]
    v = np.clip((gy - cy) / scale + image.yhot + 1.5 - 0.5, 0.0, padded_h - 1.001)[:, 0]
    u0, v0 = u.astype(np.intp), v.astype(np.intp)
    fu, fv = (u - u0).astype(np.float32)[None, :, None], (v - v0).astype(np.float32)[:, None, None]
    src = image.rgba
    top_row = src[v0][:, u0] * (1 - fu) + src[v0][:, u0 + 1] * fu
    bottom_row = src[v0 + 1][:, u0] * (1 - fu) + src[v0 + 1][:, u0 + 1] * fu
    sampled = (top_row * (1 - fv) + bottom_row * fv) * opacity
    return Sprite(bx, by, np.ascontiguousarray(sampled[..., :3]), np.ascontiguousarray(sampled[..., 3]))
