"""The top-level boxes of an MP4 file, read by the engine's own box reader (caprec.capture.files.mp4boxes)."""

from __future__ import annotations

from pathlib import Path

from caprec.capture.files.mp4boxes import read_layout


def mp4_top_level_boxes(path: Path) -> list[str]:
    """The types of the top-level ISO-BMFF boxes of ``path``, in file order; fails on a box that overruns the file."""
    layout = read_layout(path)
    assert not layout.torn, f"the last box of {path} overruns the file: {layout.boxes}"
    return list(layout.boxes)


def complete_fragments(path: Path) -> int:
    """How many whole ``moof`` + ``mdat`` pairs a growing fragmented MP4 holds so far.

    Unlike :func:`mp4_top_level_boxes` this tolerates a last box that is
    still being written.
    """
    try:
        return read_layout(path).fragments
    except FileNotFoundError:
        return 0
