"""The screen as a card on a background: padding, a background colour, rounded corners, a soft shadow.

Everything that does not move is computed once per render: the
background planes (with the shadow baked in) and the anti-aliased
coverage of the four corners. Per frame the background is copied, the
view is resampled into the card's box, and only the corner boxes are
blended, so the card costs little more than a copy.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from caprec.capture.render.spec import CardStyle, RenderInputError

Floats = npt.NDArray[np.float32]
Bytes = npt.NDArray[np.uint8]
# The shadow: this dark, this soft (a share of the card's height), this far down.
SHADOW_OPACITY = 0.45
SHADOW_BLUR_SHARE = 0.04
SHADOW_OFFSET_SHARE = 0.015
COLOURS = {"black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "gray": (128, 128, 128),
           "navy": (20, 24, 48), "slate": (32, 35, 42)}
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def parse_colour(text: str) -> tuple[int, int, int]:
    """``#rrggbb`` or a name (black, white, grey, navy, slate) to RGB."""
    named = COLOURS.get(text.strip().lower())
    if named is not None:
        return named
    match = _HEX.fullmatch(text.strip())
    if match is None:
        raise RenderInputError("background", f"{text!r} is not a colour; use #rrggbb or one of "
                                             f"{', '.join(sorted(COLOURS))}")
    value = int(match.group(1), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def _yuv(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    r, g, b = (c / 255.0 for c in rgb)
    return (16 + 65.481 * r + 128.553 * g + 24.966 * b, 128 - 37.797 * r - 74.203 * g + 112.0 * b,
            128 + 112.0 * r - 93.786 * g - 18.214 * b)


def card_box(output: tuple[int, int], source: tuple[int, int], padding: int) -> tuple[int, int, int, int]:
    """The card's even-aligned (x, y, width, height) inside ``output``, the source's aspect kept."""
    out_w, out_h = output
    room_w, room_h = out_w - 2 * padding, out_h - 2 * padding
    if room_w < 16 or room_h < 16:
        raise RenderInputError("padding", f"padding {padding} leaves no room in {out_w}x{out_h}; use less")
    aspect = source[0] / source[1]
    width, height = room_w, round(room_w / aspect)
    if height > room_h:
        width, height = round(room_h * aspect), room_h
    width, height = width - width % 2, height - height % 2
    x, y = (out_w - width) // 2, (out_h - height) // 2
    return x - x % 2, y - y % 2, width, height


def _rounded_distance(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64], box: tuple[float, float, float, float],
                      radius: float) -> npt.NDArray[np.float64]:
    """Signed distance to a rounded rectangle (negative inside)."""
    x, y, w, h = box
    qx = np.abs(xs - (x + w / 2)) - (w / 2 - radius)
    qy = np.abs(ys - (y + h / 2)) - (h / 2 - radius)
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    result: npt.NDArray[np.float64] = outside + np.minimum(np.maximum(qx, qy), 0.0) - radius
    return result


@dataclass(frozen=True)
class Card:
    """A card layout: its box, the background planes, and the corner coverage (None: square corners)."""

    box: tuple[int, int, int, int]
    background: tuple[Bytes, Bytes, Bytes]
    corner: Floats | None  # coverage of the top-left corner (radius x radius); the others are its mirrors
    corner_chroma: Floats | None


def build_card(style: CardStyle, *, output: tuple[int, int], source: tuple[int, int]) -> Card:
    """Lay the card out and precompute the background (with its shadow) and the corners."""
    out_w, out_h = output
    box = card_box(output, source, style.padding)
    x, y, w, h = box
    radius = float(min(style.corner_radius, w // 2, h // 2))
    ys, xs = np.mgrid[0:out_h, 0:out_w].astype(np.float64) + 0.5
    shade = np.zeros((out_h, out_w))
    if style.shadow:
        blur = max(2.0, h * SHADOW_BLUR_SHARE)
        drop = h * SHADOW_OFFSET_SHARE
        distance = _rounded_distance(xs, ys - drop, (x, y, w, h), radius)
        shade = SHADOW_OPACITY * np.clip(1.0 - distance / blur, 0.0, 1.0) ** 2
    luma, cb, cr = _yuv(style.background)
    plane_y = (luma * (1 - shade) + 16.0 * shade + 0.5).astype(np.uint8)
    half = shade[::2, ::2]
    plane_u = (cb * (1 - half) + 128.0 * half + 0.5).astype(np.uint8)
    plane_v = (cr * (1 - half) + 128.0 * half + 0.5).astype(np.uint8)
    corner = chroma = None
    r = math.ceil(radius)
    r += r % 2
    if r > 0:
        cy, cx = np.mgrid[0:r, 0:r].astype(np.float64) + 0.5
        corner = np.clip(0.5 - _rounded_distance(cx, cy, (0, 0, w, h), radius), 0.0, 1.0).astype(np.float32)
        chroma = corner.reshape(r // 2, 2, r // 2, 2).mean(axis=(1, 3)).astype(np.float32)
    return Card(box, (plane_y, plane_u, plane_v), corner, chroma)


def _blend_corner(plane: Bytes, background: Bytes, coverage: Floats, x: int, y: int, w: int, h: int) -> None:
    r = coverage.shape[0]
    for flip_x in (False, True):
        for flip_y in (False, True):
            mask = coverage[::-1 if flip_y else 1, ::-1 if flip_x else 1]
            x0 = x + w - r if flip_x else x
            y0 = y + h - r if flip_y else y
            region = plane[y0:y0 + r, x0:x0 + r]
            under = background[y0:y0 + r, x0:x0 + r]
            region[:] = (region * mask + under * (1.0 - mask) + 0.5).astype(np.uint8)


def finish_card(card: Card, planes: tuple[Bytes, Bytes, Bytes]) -> None:
    """Round the card's corners over the background (after the view was drawn into its box)."""
    if card.corner is None or card.corner_chroma is None:
        return
    x, y, w, h = card.box
    _blend_corner(planes[0], card.background[0], card.corner, x, y, w, h)
    for plane, background in zip(planes[1:], card.background[1:], strict=True):
        _blend_corner(plane, background, card.corner_chroma, x // 2, y // 2, w // 2, h // 2)
