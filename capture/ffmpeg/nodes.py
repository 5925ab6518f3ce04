"""Small pieces every input builder shares: the rate as FFmpeg writes it, an input's queue, an even crop.

ffmpeg-python is imported by each builder, not with this module (see :mod:`caprec.capture.ffmpeg.argv`).
"""

from __future__ import annotations

from typing import Any


def fps_text(value: float) -> str:
    """A frame rate as an FFmpeg option value (``30``, ``29.97``)."""
    return f"{value:g}"


def queue_options(size: int | None) -> dict[str, Any]:
    """An input's ``-thread_queue_size`` (none: FFmpeg's default)."""
    return {} if size is None else {"thread_queue_size": size}


def even_crop(stream: Any) -> Any:
    """yuv420p needs even sizes: trim a stray pixel column/row of an odd screen."""
    return stream.filter("crop", "trunc(iw/2)*2", "trunc(ih/2)*2")
