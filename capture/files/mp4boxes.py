"""The top-level boxes of an MP4 (ISO-BMFF) file, read from their headers only.

A recording writes a *fragmented* MP4 (``ftyp``, ``moov`` without samples,
then ``moof`` + ``mdat`` pairs), which plays after a crash; finishing it
rewrites it as a regular MP4 (``moov`` with the index, then ``mdat``).
:func:`read_layout` tells the two apart, and finds where a write cut short
(``kill -9``, a power cut) tore the file, without reading media data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

# A box header: 32-bit size and 4-byte type; size 1 means a 64-bit size follows, 0 "to the end of the file".
BOX_HEADER = struct.Struct(">I4s")
LARGE_SIZE = struct.Struct(">Q")


@dataclass(frozen=True)
class Mp4Layout:
    """The top-level boxes of an MP4 file, read from their headers only.

    ``torn`` is True when the last box claims more bytes than the file has
    (a write cut short); ``complete_end`` is where the last whole box ends.
    """

    boxes: tuple[str, ...]
    torn: bool
    complete_end: int
    fragment_end: int
    fragments: int = 0

    @property
    def fragmented(self) -> bool:
        """Fragments (``moof``) follow the header: written by a recording, not finished."""
        return "moof" in self.boxes

    @property
    def finished(self) -> bool:
        """A regular MP4: an index (``moov``) and no fragments, nothing torn."""
        return "moov" in self.boxes and not self.fragmented and not self.torn


def read_layout(path: Path) -> Mp4Layout:
    """Walk the top-level box headers of ``path`` (seeking, never reading media data).

    ``fragment_end`` is where the last whole ``moof`` + ``mdat`` pair ends
    (0 without one), ``fragments`` how many whole pairs there are. A file
    still being written reads as torn at its last, growing box. Raises
    ``OSError`` if the file cannot be read.
    """
    boxes: list[str] = []
    size_total = path.stat().st_size
    offset = 0
    torn = False
    fragment_end = 0
    fragments = 0
    previous = ""
    with path.open("rb") as handle:
        while offset + BOX_HEADER.size <= size_total:
            handle.seek(offset)
            size, raw_kind = BOX_HEADER.unpack(handle.read(BOX_HEADER.size))
            if size == 1:
                extended = handle.read(LARGE_SIZE.size)
                if len(extended) < LARGE_SIZE.size:
                    torn = True
                    break
                (size,) = LARGE_SIZE.unpack(extended)
            elif size == 0:
                size = size_total - offset
            kind = raw_kind.decode("latin-1")
            if size < BOX_HEADER.size or offset + size > size_total:
                torn = True
                boxes.append(kind)
                break
            boxes.append(kind)
            offset += size
            if kind == "mdat" and previous == "moof":
                fragment_end = offset
                fragments += 1
            previous = kind
        else:
            torn = offset != size_total
    return Mp4Layout(boxes=tuple(boxes), torn=torn, complete_end=offset, fragment_end=fragment_end,
                     fragments=fragments)
