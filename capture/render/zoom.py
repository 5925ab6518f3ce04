"""Zoom segments (automatic from clicks, or an edit list) and the view of each frame.

A view is the rectangle of the source frame shown in the output: a scale
and a top-left corner in (fractional) source pixels. The scale eases in
and out of each segment with a C2-continuous curve (smootherstep), the
centre follows the cursor through a dead zone and a spring, and the
rectangle is kept inside the frame, so no border ever shows.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from caprec.capture.render.spec import MAX_ZOOM_SCALE, RenderInputError, ZoomSegment
from caprec.capture.render.spring import CursorTrack, SpringParams, spring_step

# Cap's automatic zoom: each click gives [t - 0.3 s, t + 2.5 s]; closer than
# 2.5 s merge; clicks in the last second are ignored; ends stop 0.8 s short.
AUTO_BEFORE_S = 0.3
AUTO_AFTER_S = 2.5
AUTO_MERGE_GAP_S = 2.5
AUTO_IGNORE_LAST_S = 1.0
AUTO_END_MARGIN_S = 0.8
# The ease in (and out) lasts this long by default: the zoom is complete
# at an automatic segment's click.
DEFAULT_TRANSITION_S = 0.3
# The frame re-aims only when the cursor leaves this share of the view.
DEAD_ZONE = (0.5, 0.7)
CENTRE_SPRING = SpringParams(200.0, 2.25, 40.0)
# Times in edit lists are checked against the duration with this slack.
EDIT_SLACK_S = 0.05
EDIT_KEYS = frozenset({"start", "end", "scale", "centre", "transition"})


def auto_segments(track: CursorTrack, duration_s: float, *, scale: float) -> tuple[ZoomSegment, ...]:
    """Zoom segments from the presses in ``track`` (Cap's rule), on the joined timeline."""
    spans: list[list[float]] = []
    for t, _, _ in track.presses:
        if t > duration_s - AUTO_IGNORE_LAST_S:
            continue
        start, end = max(0.0, t - AUTO_BEFORE_S), min(t + AUTO_AFTER_S, duration_s - AUTO_END_MARGIN_S)
        if end <= start:
            continue
        if spans and start - spans[-1][1] < AUTO_MERGE_GAP_S:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return tuple(ZoomSegment(round(a, 3), round(b, 3), scale) for a, b in spans)


def edit_list_toml(segments: Sequence[ZoomSegment]) -> str:
    """``segments`` as an edit list (``[[zoom]]`` tables) that :func:`load_edit_list` reads back."""
    if not segments:
        return "zoom = []\n"
    blocks = []
    for segment in segments:
        item: dict[str, Any] = {"start": segment.start, "end": segment.end, "scale": segment.scale}
        if segment.centre is not None:
            item["centre"] = list(segment.centre)
        if segment.transition is not None:
            item["transition"] = segment.transition
        blocks.append("[[zoom]]\n" + tomli_w.dumps(item))
    return "\n".join(blocks)


def load_edit_list(path: Path, *, default_scale: float) -> tuple[ZoomSegment, ...]:
    """Read an edit list (TOML ``[[zoom]]`` tables); raises :class:`RenderInputError` naming the entry."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise RenderInputError("zoom", f"edit list {path} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RenderInputError("zoom", f"edit list {path} is not readable TOML ({exc})") from None
    entries = document.get("zoom")
    unknown = sorted(set(document) - {"zoom"})
    if unknown or not isinstance(entries, list):
        raise RenderInputError("zoom", f"edit list {path} must hold [[zoom]] tables only"
                                       + (f" (unknown key {unknown[0]!r})" if unknown else ""))
    return tuple(_segment(path, number, entry, default_scale) for number, entry in enumerate(entries, 1))


def _number(path: Path, number: int, entry: dict[str, Any], key: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RenderInputError("zoom", f"edit list {path}: zoom segment {number} needs a number for {key!r}, "
                                       f"not {value!r}")
    return float(value)


def _segment(path: Path, number: int, entry: object, default_scale: float) -> ZoomSegment:
    if not isinstance(entry, dict):
        raise RenderInputError("zoom", f"edit list {path}: zoom segment {number} is not a table")
    unknown = sorted(set(entry) - EDIT_KEYS)
    if unknown:
        raise RenderInputError("zoom", f"edit list {path}: zoom segment {number} has unknown key {unknown[0]!r}; "
                                       f"use {', '.join(sorted(EDIT_KEYS))}")
    start, end = _number(path, number, entry, "start"), _number(path, number, entry, "end")
    scale = _number(path, number, entry, "scale") if "scale" in entry else default_scale
    transition = _number(path, number, entry, "transition") if "transition" in entry else None
    centre = entry.get("centre")
    fixed: tuple[float, float] | None = None
    if centre is not None:
        if (not isinstance(centre, list) or len(centre) != 2
                or not all(isinstance(c, int | float) and 0.0 <= c <= 1.0 for c in centre)):
            raise RenderInputError("zoom", f"edit list {path}: zoom segment {number}'s centre must be [x, y] "
                                           "with 0 <= x, y <= 1 (fractions of the frame)")
        fixed = (float(centre[0]), float(centre[1]))
    if not 1.0 <= scale <= MAX_ZOOM_SCALE:
        raise RenderInputError("zoom", f"edit list {path}: zoom segment {number}'s scale {scale:g} is out of "
                                       f"range; use 1 to {MAX_ZOOM_SCALE:g}")
    if transition is not None and transition < 0:
        raise RenderInputError("zoom", f"edit list {path}: zoom segment {number}'s transition must be >= 0")
    return ZoomSegment(start, end, scale, fixed, transition)


def check_segments(segments: Sequence[ZoomSegment], duration_s: float, *, source: str) -> None:
    """Refuse segments that are empty, outside ``0..duration_s`` or overlapping; one line names the culprit."""
    previous: tuple[int, ZoomSegment] | None = None
    for number, segment in enumerate(segments, 1):
        where = f"{source}: zoom segment {number} ({segment.start:g}-{segment.end:g} s)"
        if segment.start < 0 or segment.end > duration_s + EDIT_SLACK_S:
            raise RenderInputError("zoom", f"{where} is outside the recording (0-{duration_s:.2f} s); "
                                           "move it inside")
        if segment.end <= segment.start:
            raise RenderInputError("zoom", f"{where} ends before it starts; swap start and end")
        if previous is not None and segment.start < previous[1].end:
            raise RenderInputError("zoom", f"{where} overlaps zoom segment {previous[0]} "
                                           f"({previous[1].start:g}-{previous[1].end:g} s); sort the segments "
                                           "and make them not overlap")
        previous = (number, segment)


def smootherstep(x: float) -> float:
    """0 to 1 with zero first and second derivatives at both ends."""
    x = min(1.0, max(0.0, x))
    return x * x * x * (x * (x * 6.0 - 15.0) + 10.0)


def scale_at(segment: ZoomSegment, t: float) -> float:
    """The scale ``segment`` asks for at ``t`` (1.0 outside it), eased in and out."""
    if not segment.start <= t <= segment.end:
        return 1.0
    length = segment.end - segment.start
    ease = min(DEFAULT_TRANSITION_S if segment.transition is None else segment.transition, length / 2.0)
    if ease <= 0:
        return segment.scale
    amount = min(smootherstep((t - segment.start) / ease), smootherstep((segment.end - t) / ease))
    return 1.0 + (segment.scale - 1.0) * amount


@dataclass(frozen=True)
class View:
    """The part of the source a frame shows: ``scale`` and the top-left corner, in source pixels."""

    scale: float
    x: float
    y: float
    width: float
    height: float


class ZoomTrack:
    """Per-frame views for ``segments`` over a ``width`` x ``height`` source; frames must come in order."""

    def __init__(self, segments: Sequence[ZoomSegment], width: int, height: int) -> None:
        self._segments = tuple(segments)
        self._width = width
        self._height = height
        self._index = 0
        self._active: ZoomSegment | None = None
        self._t: float | None = None
        self._centre = (width / 2.0, height / 2.0)
        self._velocity = (0.0, 0.0)
        self._aim = self._centre

    def _segment(self, t: float) -> ZoomSegment | None:
        while self._index < len(self._segments) and self._segments[self._index].end < t:
            self._index += 1
        if self._index < len(self._segments) and self._segments[self._index].start <= t:
            return self._segments[self._index]
        return None

    def view(self, t: float, cursor: tuple[float, float] | None, *, first_press: tuple[float, float] | None = None
             ) -> View:
        """The view at ``t``; ``cursor`` is where the pointer is drawn (source pixels)."""
        segment = self._segment(t)
        scale = 1.0 if segment is None else scale_at(segment, t)
        if segment is not None and segment.centre is not None:
            centre = (segment.centre[0] * self._width, segment.centre[1] * self._height)
            self._centre, self._velocity, self._aim = centre, (0.0, 0.0), centre
        elif segment is not None:
            if segment is not self._active:
                # Entering a segment: aim at its first click (or the pointer) at once.
                start = self._reachable(first_press or cursor or self._centre, segment.scale)
                self._centre, self._velocity, self._aim = start, (0.0, 0.0), start
            else:
                self._follow(t, cursor, scale, segment.scale)
        self._active = segment
        self._t = t
        return self._clamped(scale, self._centre)

    def _reachable(self, point: tuple[float, float], scale: float) -> tuple[float, float]:
        """``point`` moved to the nearest centre a view at ``scale`` can have (the view inside the frame).

        The spring aims there, so a pan towards an edge slows down into it instead of being stopped at
        full speed by the clamp in :meth:`_clamped` (a jolt of tens of pixels a frame).
        """
        half_w, half_h = self._width / scale / 2.0, self._height / scale / 2.0
        return (min(max(point[0], half_w), self._width - half_w), min(max(point[1], half_h), self._height - half_h))

    def _follow(self, t: float, cursor: tuple[float, float] | None, scale: float, full_scale: float) -> None:
        if cursor is not None:
            half_w = self._width / scale * DEAD_ZONE[0] / 2.0
            half_h = self._height / scale * DEAD_ZONE[1] / 2.0
            if abs(cursor[0] - self._aim[0]) > half_w or abs(cursor[1] - self._aim[1]) > half_h:
                self._aim = self._reachable(cursor, full_scale)
        dt = 0.0 if self._t is None else t - self._t
        x, vx = spring_step(self._centre[0], self._velocity[0], self._aim[0], dt, CENTRE_SPRING)
        y, vy = spring_step(self._centre[1], self._velocity[1], self._aim[1], dt, CENTRE_SPRING)
        self._centre, self._velocity = (x, y), (vx, vy)

    def _clamped(self, scale: float, centre: tuple[float, float]) -> View:
        width, height = self._width / scale, self._height / scale
        x = min(max(centre[0] - width / 2.0, 0.0), self._width - width)
        y = min(max(centre[1] - height / 2.0, 0.0), self._height - height)
        return View(scale, x, y, width, height)
