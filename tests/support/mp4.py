"""The top-level boxes of an MP4 file (the engine's own box reader is capture.studio's; see issue 11)."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path


def mp4_top_level_boxes(path: Path) -> list[str]:
    """The types of the top-level ISO-BMFF boxes of ``path``, in file order.

    Walks size+type headers (32-bit size, 64-bit ``largesize`` when the size
    is 1, "to the end" when it is 0) and fails on a box that overruns the file.
    """
    data = path.read_bytes()
    boxes: list[str] = []
    offset = 0
    while offset < len(data):
        assert offset + 8 <= len(data), f"truncated box header at {offset} in {path}"
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8:offset + 16])
        elif size == 0:
            size = len(data) - offset
        assert size >= 8 and offset + size <= len(data), f"bad box {kind!r} size {size} at {offset} in {path}"
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


def complete_fragments(path: Path) -> int:
    """How many whole ``moof`` + ``mdat`` pairs a growing fragmented MP4 holds so far.

    Unlike :func:`mp4_top_level_boxes` this tolerates a last box that is
    still being written: it stops at the first box that does not fit yet.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    kinds: list[bytes] = []
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size < 8 or offset + size > len(data):
            break
        kinds.append(kind)
        offset += size
    return sum(1 for pair in itertools.pairwise(kinds) if pair == (b"moof", b"mdat"))
