"""The replay buffer: the last N seconds of the fragmented MP4 stream, in memory.

FFmpeg's output reaches caprec as a fragmented MP4: an init segment
(``ftyp`` + an empty ``moov``) and then one ``moof`` + ``mdat`` fragment per
keyframe (about one a second). :class:`ReplayBuffer` is a pump sink that
splits that stream into whole top-level boxes, keeps the init segment and a
ring of the most recent fragments, and hands out :class:`Clip` snapshots: the
init segment plus the fragments from the last keyframe at or before "N
seconds ago". A clip is a valid fragmented MP4 as it is (the demuxer reads
each fragment's own decode time), so saving it needs no timestamp rewriting.

The ring is bounded twice: by time (fragments older than the window are
dropped, whole, never the last keyframe before the window's start) and by
bytes (the oldest fragments go first, but never below
:data:`MIN_FRAGMENTS`, like OBS's two keyframes). Its cost does not grow
with the recording's length.
"""

from __future__ import annotations

import errno
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

DEFAULT_MAX_MEMORY = 512 * 1024 * 1024
# Never trim below this many fragments, whatever the memory bound says.
MIN_FRAGMENTS = 2
# Fragment times are sums of integer ticks over a timescale: compare them with this tolerance.
TIME_EPSILON_S = 1e-6
BOX_HEADER = struct.Struct(">I4s")
LARGE_SIZE = struct.Struct(">Q")
U32 = struct.Struct(">I")
U64 = struct.Struct(">Q")
# ISO/IEC 14496-12 sample flags: sample_is_non_sync_sample.
NON_SYNC_SAMPLE = 0x00010000
# tfhd flags.
TFHD_BASE_DATA_OFFSET = 0x01
TFHD_SAMPLE_DESCRIPTION = 0x02
TFHD_DEFAULT_DURATION = 0x08
TFHD_DEFAULT_SIZE = 0x10
TFHD_DEFAULT_FLAGS = 0x20
# trun flags.
TRUN_DATA_OFFSET = 0x001
TRUN_FIRST_FLAGS = 0x004
TRUN_DURATION = 0x100
TRUN_SIZE = 0x200
TRUN_FLAGS = 0x400
TRUN_CTO = 0x800
# Boxes that contain boxes, on the paths this module reads.
_CONTAINERS = frozenset({"moov", "trak", "mdia", "mvex", "moof", "traf"})


class StreamFormatError(ValueError):
    """The stream is not the fragmented MP4 the buffer expects (a bug, not user input)."""


@dataclass(frozen=True)
class Track:
    """One track of the init segment: its id, kind (``vide``, ``soun``) and defaults."""

    track_id: int
    handler: str
    timescale: int
    default_duration: int = 0
    default_flags: int = 0


@dataclass(frozen=True)
class Fragment:
    """One ``moof`` + ``mdat`` pair and where it sits on the video's timeline."""

    moof: bytes
    mdat: bytes
    start_s: float
    duration_s: float
    keyframe: bool
    frames: int

    @property
    def size(self) -> int:
        return len(self.moof) + len(self.mdat)

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class Clip:
    """A snapshot to save: the init segment and whole fragments, oldest first.

    ``start_s``/``end_s`` are on the recording's timeline (0 = its first
    frame). ``wanted_s`` is what was asked for; ``memory_limited`` says the
    memory bound dropped fragments the window would have kept.
    """

    init: bytes
    fragments: tuple[Fragment, ...]
    wanted_s: float
    memory_limited: bool

    @property
    def start_s(self) -> float:
        return self.fragments[0].start_s

    @property
    def end_s(self) -> float:
        return self.fragments[-1].end_s

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def frames(self) -> int:
        return sum(fragment.frames for fragment in self.fragments)

    @property
    def size(self) -> int:
        return len(self.init) + sum(fragment.size for fragment in self.fragments)

    def chunks(self) -> Iterator[bytes]:
        """The clip's bytes in file order (no copy of the fragments)."""
        yield self.init
        for fragment in self.fragments:
            yield fragment.moof
            yield fragment.mdat


@dataclass(frozen=True)
class BufferStats:
    """What the ring holds now."""

    bytes: int
    seconds: float
    fragments: int
    dropped_for_memory: int


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[str, int, int]]:
    """The boxes in ``data[start:end]``: (type, payload start, box end). Stops at a box that overruns."""
    end = len(data) if end is None else end
    offset = start
    while offset + BOX_HEADER.size <= end:
        size, raw = BOX_HEADER.unpack_from(data, offset)
        header = BOX_HEADER.size
        if size == 1:
            (size,) = LARGE_SIZE.unpack_from(data, offset + header)
            header += LARGE_SIZE.size
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield raw.decode("latin-1"), offset + header, offset + size
        offset += size


def _children(data: bytes, start: int, end: int, path: tuple[str, ...]) -> Iterator[tuple[str, int, int]]:
    """The boxes reached by ``path`` (e.g. ``("trak", "mdia", "mdhd")``) inside ``data[start:end]``."""
    for kind, payload, box_end in iter_boxes(data, start, end):
        if kind != path[0]:
            continue
        if len(path) == 1:
            yield kind, payload, box_end
        elif kind in _CONTAINERS:
            yield from _children(data, payload, box_end, path[1:])


def _first(data: bytes, start: int, end: int, *path: str) -> int | None:
    """The payload offset of the first box at ``path``, None if there is none."""
    for _, payload, _ in _children(data, start, end, path):
        return payload
    return None


def parse_tracks(moov: bytes) -> dict[int, Track]:
    """The tracks an init segment's ``moov`` box (whole, header included) declares."""
    body = BOX_HEADER.size
    defaults: dict[int, tuple[int, int]] = {}
    for _, payload, _ in _children(moov, body, len(moov), ("mvex", "trex")):
        track_id, _, duration, _, flags = struct.unpack_from(">IIIII", moov, payload + 4)
        defaults[track_id] = (duration, flags)
    tracks: dict[int, Track] = {}
    for _, payload, end in _children(moov, body, len(moov), ("trak",)):
        tkhd = _first(moov, payload, end, "tkhd")
        mdhd = _first(moov, payload, end, "mdia", "mdhd")
        hdlr = _first(moov, payload, end, "mdia", "hdlr")
        if tkhd is None or mdhd is None or hdlr is None:
            continue
        track_id = U32.unpack_from(moov, tkhd + (20 if moov[tkhd] == 1 else 12))[0]
        timescale = U32.unpack_from(moov, mdhd + (20 if moov[mdhd] == 1 else 12))[0]
        handler = moov[hdlr + 8:hdlr + 12].decode("latin-1")
        duration, flags = defaults.get(track_id, (0, 0))
        tracks[track_id] = Track(track_id, handler, timescale or 1, duration, flags)
    return tracks


@dataclass(frozen=True)
class _Timing:
    decode_time: int
    duration: int
    keyframe: bool
    samples: int


def _traf_timing(moof: bytes, start: int, end: int, tracks: dict[int, Track]) -> tuple[int, _Timing] | None:
    """Track id, decode time, duration, keyframe start and sample count of one ``traf``."""
    tfhd = _first(moof, start, end, "tfhd")
    tfdt = _first(moof, start, end, "tfdt")
    if tfhd is None or tfdt is None:
        return None
    tf_flags = U32.unpack_from(moof, tfhd)[0] & 0xFFFFFF
    track_id = U32.unpack_from(moof, tfhd + 4)[0]
    track = tracks.get(track_id)
    default_duration = track.default_duration if track else 0
    default_flags = track.default_flags if track else 0
    offset = tfhd + 8
    if tf_flags & TFHD_BASE_DATA_OFFSET:
        offset += 8
    if tf_flags & TFHD_SAMPLE_DESCRIPTION:
        offset += 4
    if tf_flags & TFHD_DEFAULT_DURATION:
        default_duration = U32.unpack_from(moof, offset)[0]
        offset += 4
    if tf_flags & TFHD_DEFAULT_SIZE:
        offset += 4
    if tf_flags & TFHD_DEFAULT_FLAGS:
        default_flags = U32.unpack_from(moof, offset)[0]
    decode_time = (U64 if moof[tfdt] == 1 else U32).unpack_from(moof, tfdt + 4)[0]
    duration = samples = 0
    first_flags: int | None = None
    for _, trun, _ in _children(moof, start, end, ("trun",)):
        tr_flags = U32.unpack_from(moof, trun)[0] & 0xFFFFFF
        count = U32.unpack_from(moof, trun + 4)[0]
        offset = trun + 8 + (4 if tr_flags & TRUN_DATA_OFFSET else 0)
        run_first: int | None = None
        if tr_flags & TRUN_FIRST_FLAGS:
            run_first = U32.unpack_from(moof, offset)[0]
            offset += 4
        stride = 4 * sum(1 for bit in (TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTO) if tr_flags & bit)
        for index in range(count):
            field = offset + index * stride
            duration += U32.unpack_from(moof, field)[0] if tr_flags & TRUN_DURATION else default_duration
            if index == 0 and first_flags is None and samples == 0:
                flags = run_first
                if flags is None and tr_flags & TRUN_FLAGS:
                    skip = 4 * sum(1 for bit in (TRUN_DURATION, TRUN_SIZE) if tr_flags & bit)
                    flags = U32.unpack_from(moof, field + skip)[0]
                first_flags = default_flags if flags is None else flags
        samples += count
    keyframe = first_flags is not None and not first_flags & NON_SYNC_SAMPLE
    return track_id, _Timing(decode_time, duration, keyframe, samples)


class BoxSplitter:
    """Cuts a byte stream into whole top-level MP4 boxes, whatever the read sizes."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: memoryview | bytes) -> Iterator[tuple[str, bytes]]:
        """Take ``data``; yield every box it completes as (type, whole box bytes)."""
        pending = self._pending
        pending += data
        while len(pending) >= BOX_HEADER.size:
            size, raw = BOX_HEADER.unpack_from(pending, 0)
            if size == 1:
                if len(pending) < BOX_HEADER.size + LARGE_SIZE.size:
                    return
                (size,) = LARGE_SIZE.unpack_from(pending, BOX_HEADER.size)
            if size < BOX_HEADER.size:
                raise StreamFormatError(f"box {raw!r} has an impossible size {size}")
            if len(pending) < size:
                return
            box = bytes(pending[:size])
            del pending[:size]
            yield raw.decode("latin-1"), box

    @property
    def pending(self) -> int:
        """Bytes of a box not complete yet."""
        return len(self._pending)


class ReplayBuffer:
    """A pump sink that keeps the init segment and the recent fragments (see the module doc).

    ``window_s`` is how much a save wants (N seconds); ``max_bytes`` bounds
    the fragments held. ``on_trim`` is told the new oldest start (seconds on
    the recording's timeline) whenever old fragments go, so that a sidecar
    (the cursor ring) can forget the same span. Writes come from the pump's
    thread; :meth:`snapshot` and :meth:`stats` from any thread.
    """

    def __init__(self, *, window_s: float, max_bytes: int = DEFAULT_MAX_MEMORY,
                 on_trim: Callable[[float], None] | None = None) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be positive, got {window_s!r}")
        self.window_s = window_s
        self.max_bytes = max_bytes
        self._on_trim = on_trim
        self._splitter = BoxSplitter()
        self._lock = threading.Lock()
        self._init: list[bytes] = []
        self._init_done = False
        self._tracks: dict[int, Track] = {}
        self._video_id: int | None = None
        self._base: int | None = None
        self._moof: bytes | None = None
        self._fragments: deque[Fragment] = deque()
        self._bytes = 0
        self._dropped_for_memory = 0
        self._memory_limited = False
        self.created = False  # the pump's Sink protocol: True once a byte arrived

    # -- the pump's sink ------------------------------------------------------

    def write(self, data: memoryview) -> None:
        """Take the next bytes of FFmpeg's stream."""
        self.created = True
        try:
            for kind, box in self._splitter.feed(data):
                self._take(kind, box)
        except (ValueError, IndexError, struct.error) as exc:
            # The pump handles OSError: it stops the recording and reports it.
            raise OSError(errno.EIO, f"the replay buffer cannot read FFmpeg's stream: {exc}") from exc

    def close(self) -> None:
        """End of stream: nothing to release (an incomplete last box is dropped)."""

    # -- reading --------------------------------------------------------------

    def snapshot(self, seconds: float | None = None) -> Clip | None:
        """The last ``seconds`` (default: the window) as a :class:`Clip`, None before the first fragment.

        The clip starts at the newest keyframe fragment that starts at or
        before ``end - seconds`` (so it holds N to N + one fragment), or at
        the oldest keyframe fragment held when the ring does not reach back
        that far.
        """
        wanted = self.window_s if seconds is None else seconds
        with self._lock:
            if not self._init_done or not self._fragments:
                return None
            fragments = list(self._fragments)
            init = b"".join(self._init)
            limited = self._memory_limited
        end = fragments[-1].end_s
        keys = [i for i, fragment in enumerate(fragments) if fragment.keyframe]
        if not keys:
            return None
        first = keys[0]
        for index in keys:
            if fragments[index].start_s <= end - wanted + TIME_EPSILON_S:
                first = index
        chosen = tuple(fragments[first:])
        short = end - chosen[0].start_s < wanted - TIME_EPSILON_S
        return Clip(init=init, fragments=chosen, wanted_s=wanted, memory_limited=limited and short)

    def stats(self) -> BufferStats:
        with self._lock:
            held = self._fragments
            seconds = held[-1].end_s - held[0].start_s if held else 0.0
            return BufferStats(bytes=self._bytes, seconds=seconds, fragments=len(held),
                               dropped_for_memory=self._dropped_for_memory)

    # -- inside -----------------------------------------------------------------

    def _take(self, kind: str, box: bytes) -> None:
        if kind == "moof":
            if not self._init_done:
                self._finish_init()
            self._moof = box
            return
        if kind == "mdat" and self._moof is not None:
            fragment = self._fragment(self._moof, box)
            self._moof = None
            if fragment is not None:
                self._push(fragment)
            return
        if not self._init_done:
            with self._lock:
                self._init.append(box)
            if kind == "moov":
                self._tracks = parse_tracks(box)
        # Anything else between fragments (mfra at the very end, free) is not needed to play.

    def _finish_init(self) -> None:
        videos = [t.track_id for t in self._tracks.values() if t.handler == "vide"]
        if not videos:
            raise StreamFormatError("the init segment declares no video track")
        self._video_id = videos[0]
        with self._lock:
            self._init_done = True

    def _fragment(self, moof: bytes, mdat: bytes) -> Fragment | None:
        video = None
        for _, payload, end in _children(moof, BOX_HEADER.size, len(moof), ("traf",)):
            timing = _traf_timing(moof, payload, end, self._tracks)
            if timing is not None and timing[0] == self._video_id:
                video = timing[1]
                break
        if video is None:
            return None  # an audio-only fragment cannot start or carry a clip's video
        if self._base is None:
            self._base = video.decode_time
        scale = self._tracks[self._video_id].timescale  # type: ignore[index]
        return Fragment(moof=moof, mdat=mdat, start_s=(video.decode_time - self._base) / scale,
                        duration_s=video.duration / scale, keyframe=video.keyframe, frames=video.samples)

    def _push(self, fragment: Fragment) -> None:
        with self._lock:
            held = self._fragments
            held.append(fragment)
            self._bytes += fragment.size
            before = len(held)
            # Time: drop everything before the newest keyframe fragment that still covers the window.
            cutoff = fragment.end_s - self.window_s
            keep_from = 0
            for index, candidate in enumerate(held):
                if candidate.start_s > cutoff + TIME_EPSILON_S:
                    break
                if candidate.keyframe:
                    keep_from = index
            for _ in range(keep_from):
                self._bytes -= held.popleft().size
            # Bytes: the oldest go first, never below MIN_FRAGMENTS; a clip must start on a keyframe.
            while self._bytes > self.max_bytes and len(held) > MIN_FRAGMENTS:
                self._bytes -= held.popleft().size
                self._dropped_for_memory += 1
                self._memory_limited = True
                while len(held) > 1 and not held[0].keyframe:
                    self._bytes -= held.popleft().size
                    self._dropped_for_memory += 1
            trimmed = len(held) < before
            oldest = held[0].start_s
        if trimmed and self._on_trim is not None:
            self._on_trim(oldest)
