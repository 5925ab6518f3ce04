"""Bound FFmpeg's input queue by bytes, not only by frames.

``-thread_queue_size`` counts packets, and a raw screen grabber's packet is a
whole frame: a 2880x1800 Retina frame in uyvy422 is 10.4 MB, so the default
queues of 96 (instant) and 240 (studio) frames could pin 1.0 / 2.5 GB while
the encoder falls behind, and 2.8 / 7.1 GB at 5K. :func:`capped_queue_size`
lowers a default queue so that it holds at most :data:`QUEUE_MEMORY_BUDGET`
of frames; small frames keep the full default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from caprec.capture.ffmpeg.argv import Backend
from caprec.capture.platform.displays import DisplayInfo, avfoundation_screen_index
from caprec.capture.units import Region, format_bytes

#: What queued frames of one capture input may hold at most.
QUEUE_MEMORY_BUDGET = 512 * 1024 * 1024
#: FFmpeg's own default queue: never go below it.
MIN_QUEUE_SIZE = 8
# Bytes per pixel of each grabber's frames: avfoundation is asked for uyvy422,
# gdigrab delivers bgra. ddagrab's frames stay on the GPU (no system memory).
BYTES_PER_PIXEL = {Backend.AVFOUNDATION: 2, Backend.GDIGRAB: 4}


@dataclass(frozen=True)
class CappedQueue:
    """A queue size, and why it is smaller than asked (None when it is not)."""

    size: int
    reason: str | None = None


def input_frame_bytes(*, backend: Backend, device: str, region: Region | None,
                      displays: Sequence[DisplayInfo]) -> tuple[int, int, int] | None:
    """(width, height, bytes) of one captured frame before any crop, or None when unknown.

    avfoundation grabs the whole screen (the region is a crop filter after
    the queue); gdigrab grabs the region, else the whole desktop. A bare
    avfoundation index counts as the biggest display.
    """
    per_pixel = BYTES_PER_PIXEL.get(backend)
    if per_pixel is None or not displays:
        return None
    if backend is Backend.AVFOUNDATION:
        index = avfoundation_screen_index(device)
        if index is not None and 0 <= index < len(displays):
            width, height = displays[index].pixel_width, displays[index].pixel_height
        else:
            biggest = max(displays, key=lambda d: d.pixel_width * d.pixel_height)
            width, height = biggest.pixel_width, biggest.pixel_height
    elif region is not None:
        width, height = region.width, region.height
    else:
        width = round(max(d.x + d.width for d in displays) - min(d.x for d in displays))
        height = round(max(d.y + d.height for d in displays) - min(d.y for d in displays))
    return width, height, width * height * per_pixel


def capped_queue_size(requested: int, *, backend: Backend, device: str, displays: Sequence[DisplayInfo],
                      region: Region | None = None, budget: int = QUEUE_MEMORY_BUDGET) -> CappedQueue:
    """``requested`` frames, or fewer so that the queued frames fit ``budget`` bytes."""
    frame = input_frame_bytes(backend=backend, device=device, region=region, displays=displays)
    if frame is None:
        return CappedQueue(requested)
    width, height, size = frame
    fits = max(MIN_QUEUE_SIZE, budget // size)
    if fits >= requested:
        return CappedQueue(requested)
    return CappedQueue(fits, f"queue_size {requested} lowered to {fits}: {width}x{height} frames are "
                             f"{format_bytes(size)} each, and queued frames may use at most {format_bytes(budget)}")
