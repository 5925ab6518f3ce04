"""Recording the pointer's real image during studio recordings on X11 (XFixes).

:class:`ShapeWatcher` listens for XFixes ``DisplayCursorNotify`` (the
pointer's image changed) on a thread it owns, reads the new image, stores
each distinct image once in the bundle (``cursors/<id>.png``, the id a hash
of the pixels and hotspot) and reports the change with its hotspot, which
the cursor log records as a ``cursor`` event (format 1.1). Rendering then
draws the real pointer instead of the built-in arrow.

:class:`ShapeSidecar` is the cursor sidecar with a watcher beside it, so the
session drives both as one (start, pause, resume, stop). When XFixes is not
there (no X, an old server) the recording goes on without shapes and the
renderer draws its arrow.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import struct
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caprec.capture.cursor.listener import CursorSidecar
from caprec.capture.cursor.writer import CursorStats

SHAPES_DIR = "cursors"
SHAPE_SUFFIX = ".png"
# How often the watcher thread checks for a stop while no X event comes.
POLL_S = 0.1
JOIN_TIMEOUT_S = 2.0
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ID_LENGTH = 16

OnShape = Callable[[float, float, str, int, int], None]


class ShapeError(ValueError):
    """A stored cursor image is not one caprec wrote (damaged or replaced)."""


def png_rgba(width: int, height: int, rgba: bytes) -> bytes:
    """A minimal PNG (8-bit RGBA, no filtering) of ``rgba`` pixels."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    stride = width * 4
    raw = b"".join(b"\x00" + rgba[row * stride:(row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return _PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def read_png_rgba(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGBA pixels of a PNG written by :func:`png_rgba`; raises :class:`ShapeError`."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ShapeError("not a PNG")
    offset, width, height, idat = len(_PNG_SIGNATURE), 0, 0, b""
    while offset + 8 <= len(data):
        length, tag = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if tag == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if (depth, colour, interlace) != (8, 6, 0):
                raise ShapeError("not an 8-bit RGBA PNG")
        elif tag == b"IDAT":
            idat += body
        offset += 12 + length
    try:
        raw = zlib.decompress(idat)
    except zlib.error as exc:
        raise ShapeError(f"damaged PNG data ({exc})") from None
    stride = width * 4 + 1
    if width == 0 or len(raw) != stride * height or any(raw[row * stride] for row in range(height)):
        raise ShapeError("a PNG caprec did not write (size or row filters)")
    return width, height, b"".join(raw[row * stride + 1:(row + 1) * stride] for row in range(height))


def unpremultiply(argb: list[int]) -> bytes:
    """XFixes' premultiplied ARGB words to straight RGBA bytes."""
    out = bytearray(len(argb) * 4)
    for index, word in enumerate(argb):
        a = (word >> 24) & 0xFF
        if a:
            r = min(255, ((word >> 16) & 0xFF) * 255 // a)
            g = min(255, ((word >> 8) & 0xFF) * 255 // a)
            b = min(255, (word & 0xFF) * 255 // a)
            out[index * 4:index * 4 + 4] = bytes((r, g, b, a))
    return bytes(out)


class ShapeStore:
    """Each distinct image once in ``directory`` (created on the first), named by its hash."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._known: set[str] = set()

    def add(self, width: int, height: int, xhot: int, yhot: int, rgba: bytes) -> str:
        """Store the image (if new) and return its id (the file is ``<id>.png``)."""
        digest = hashlib.sha256(struct.pack(">IIII", width, height, xhot, yhot) + rgba).hexdigest()[:_ID_LENGTH]
        if digest not in self._known:
            self._directory.mkdir(exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
            with contextlib.suppress(FileExistsError):
                fd = os.open(self._directory / f"{digest}{SHAPE_SUFFIX}", flags, 0o666)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(png_rgba(width, height, rgba))
            self._known.add(digest)
        return digest


class ShapeWatcher:
    """Watches the pointer's image on an X display (XFixes) on a thread it owns; ``stop`` joins it."""

    def __init__(self, store: ShapeStore, on_shape: OnShape, *, display: str | None = None,
                 connect: Callable[[str | None], Any] | None = None) -> None:
        self._store = store
        self._on_shape = on_shape
        self._display_name = display
        self._connect = connect
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self._ids: dict[int, str] = {}  # X cursor serial -> shape id
        self._last: tuple[float, float, str, int, int] | None = None
        self._lock = threading.Lock()
        self._again_at: float | None = None  # when the thread reports the image once more (monotonic)

    def start(self) -> bool:
        """Connect and start watching; False (with ``error`` set) when XFixes cannot be used."""
        try:
            display = self._open()
        except Exception as exc:  # any failure of python-xlib means: no shapes, record on
            self.error = f"cursor shapes unavailable: {exc}"
            return False
        self._thread = threading.Thread(target=self._run, args=(display,), name="caprec-cursor-shapes",
                                        daemon=True)
        self._thread.start()
        return True

    def _open(self) -> Any:
        if self._connect is not None:
            return self._connect(self._display_name)
        from Xlib import display as xdisplay
        from Xlib.ext import xfixes

        display = xdisplay.Display(self._display_name)
        if not display.has_extension("XFIXES"):
            display.close()
            raise RuntimeError("the X server has no XFIXES extension")
        display.xfixes_query_version()
        display.xfixes_select_cursor_input(display.screen().root, xfixes.XFixesDisplayCursorNotifyMask)
        display.flush()
        return display

    def _capture(self, display: Any) -> None:
        image = display.xfixes_get_cursor_image(display.screen().root)
        shape = self._ids.get(image.cursor_serial)
        if shape is None:
            rgba = unpremultiply(list(image.cursor_image))
            shape = self._store.add(image.width, image.height, image.xhot, image.yhot, rgba)
            self._ids[image.cursor_serial] = shape
        with self._lock:
            self._last = (float(image.x), float(image.y), shape, int(image.xhot), int(image.yhot))
            self._on_shape(*self._last)

    def repeat_last(self) -> None:
        """Report the last image again (no more)."""
        with self._lock:
            if self._last is not None:
                self._on_shape(*self._last)

    def repeat(self) -> None:
        """Report the current image again: the log drops what came before its first frame or during a pause.

        Reported now and once more from the watcher thread ``POLL_S`` to ``2 * POLL_S`` later: a first
        frame's time can lie a little after the moment it is announced, and an event before it is dropped.
        """
        self._again_at = time.monotonic() + POLL_S
        self.repeat_last()

    def _run(self, display: Any) -> None:
        try:
            self._capture(display)
            while not self._stop.is_set():
                readable, _, _ = select.select([display.fileno()], [], [], POLL_S)
                again = self._again_at
                if again is not None and time.monotonic() >= again:
                    self._again_at = None
                    self.repeat_last()
                if not readable and not display.pending_events():
                    continue
                changed = False
                while display.pending_events():
                    changed |= getattr(display.next_event(), "cursor_serial", None) is not None
                if changed:
                    self._capture(display)
        except Exception as exc:  # the X connection failed: stop watching, keep recording
            self.error = f"cursor shapes stopped: {exc}"
        finally:
            with contextlib.suppress(Exception):
                display.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT_S)


class ShapeSidecar:
    """A :class:`CursorSidecar` with a :class:`ShapeWatcher` beside it, driven as one by the session."""

    def __init__(self, sidecar: CursorSidecar, directory: Path, *, display: str | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self._sidecar = sidecar
        self._watcher = ShapeWatcher(ShapeStore(directory), sidecar.writer.on_shape, display=display)
        self._warn = warn

    def start(self) -> None:
        self._sidecar.start()
        if not self._watcher.start() and self._warn is not None and self._watcher.error:
            self._warn(f"{self._watcher.error}; the render will draw caprec's arrow")

    def stop(self) -> CursorStats:
        self._watcher.stop()
        return self._sidecar.stop()

    def stats(self) -> CursorStats:
        return self._sidecar.stats()

    def set_origin(self, *, monotonic: float, wall: float) -> None:
        """Each segment's first frame: log the current image at its start (earlier events are dropped)."""
        self._sidecar.set_origin(monotonic=monotonic, wall=wall)
        self._watcher.repeat()

    def pause(self) -> None:
        self._sidecar.pause()

    def resume(self, *, offset_ms: float) -> None:
        self._sidecar.resume(offset_ms=offset_ms)  # the next set_origin repeats the image
