"""The X11 pointer listener that costs the same whatever the pointer does.

pynput's X listener decodes every pointer motion event in pure Python
(~0.3 ms each): a mouse moving at 125-1000 Hz cost caprec 13-18 ms of CPU per
second of recording, almost all of its own CPU. The video samples the pointer
once per frame anyway, so this listener does the same:

* buttons (clicks, and scrolls, which X11 sends as buttons 4-7) still come
  from the X RECORD extension, exact and in order, each with its position,
  decoded with one :mod:`struct` unpack per event (:func:`decode_buttons`)
  rather than python-xlib's generic event parser;
* the position is read by a :class:`~caprec.capture.cursor.sampler.PointerSampler`
  at most once per video frame (libxcb's QueryPointer through ctypes, see
  :mod:`caprec.capture.cursor.x11_pointer`), and a move is logged only when it
  changed; a pointer at rest is not read at all until XInput2 reports motion.

The cost is then bounded by the frame rate while the pointer moves, and near
zero while it rests, not by the mouse's polling rate.
"""

from __future__ import annotations

import contextlib
import struct
import threading
from collections.abc import Callable
from typing import Any

from caprec.capture.cursor.sampler import PointerSampler
from caprec.capture.cursor.x11_pointer import open_motion_waker, open_pointer_reader

# The sampler must end with the listener; it wakes at once on stop.
POLLER_JOIN_TIMEOUT_S = 1.0
# A moving pointer is read at most once per frame and at most this often: each read is a
# thread wake-up plus an X round trip, ~0.15 ms of CPU on a small shared VM (measured: the
# sampler thread took 2.4-2.7 ms of CPU per second at 15 Hz), and caprec's whole budget is
# 3 ms per second of recording. 10 Hz is still six times the bandwidth of the render's
# springs (natural frequencies 0.9-1.5 Hz for the presets), which smooth the path anyway;
# the first move after a rest and every click and scroll are exact whatever this rate.
MAX_SAMPLE_HZ = 10.0
# X11 core event types (X.h): the RECORD range of device events to receive.
_BUTTON_PRESS = 4
_BUTTON_RELEASE = 5
# A core X event is 32 bytes; the high bit of its type marks one sent by SendEvent (pynput's "injected").
_EVENT_SIZE = 32
_SEND_EVENT_BIT = 0x80
# ButtonPress/ButtonRelease (X11 protocol, "Events"): type, detail (the button), sequence, time, root,
# event, child, root-x, root-y: all a button record needs. Native order, as python-xlib reads it.
_BUTTON_EVENT = struct.Struct("=BBHIIIIhh")


ButtonEvent = tuple[bool, int, int, int, bool]  # pressed, button, root x, root y, sent by SendEvent


def decode_buttons(data: bytes) -> tuple[list[ButtonEvent], int]:
    """The core button events at the start of RECORD ``data``, and the offset where they end.

    Decoding stops at the first event that is not a ButtonPress or
    ButtonRelease (or a short tail): the offset is then less than
    ``len(data)`` and the rest is left to a general parser.
    """
    events: list[ButtonEvent] = []
    offset = 0
    while offset + _EVENT_SIZE <= len(data):
        kind, button, _seq, _time, _root, _event, _child, x, y = _BUTTON_EVENT.unpack_from(data, offset)
        code = kind & ~_SEND_EVENT_BIT
        if code != _BUTTON_PRESS and code != _BUTTON_RELEASE:
            break
        events.append((code == _BUTTON_PRESS, button, x, y, bool(kind & _SEND_EVENT_BIT)))
        offset += _EVENT_SIZE
    return events, offset


def frame_paced_listener_factory(mouse: Any, fps: float) -> Callable[..., Any]:
    """A pynput-compatible listener factory for the X11 ``mouse`` backend module, sampling moves at ``fps``."""
    base: Any = mouse.Listener
    interval = 1.0 / min(fps, MAX_SAMPLE_HZ) if fps > 0 else 1.0 / MAX_SAMPLE_HZ

    class FramePacedListener(base):  # type: ignore[misc]
        """pynput's X listener for buttons only, plus a pointer sampler at the frame rate (capped)."""

        # pynput passes this pair as RECORD's device-event range: buttons, no motion.
        _EVENTS = (_BUTTON_PRESS, _BUTTON_RELEASE)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._report_move = kwargs.get("on_move")
            super().__init__(*args, **kwargs)
            self._sampler: PointerSampler | None = None
            self._poller: threading.Thread | None = None
            self._closers: list[Callable[[], None]] = []
            self._sampler_lock = threading.Lock()
            self._sampler_stopped = False
            self._buttons: dict[int, Any] = {}  # detail -> pynput Button, made once each

        @base._emitter  # type: ignore[misc,untyped-decorator,unused-ignore]  # pynput's: a callback's StopException or error ends the listener
        def _handler(self, events: Any) -> None:
            """pynput's RECORD callback, buttons decoded with struct (see :func:`decode_buttons`)."""
            if not self.running:
                raise self.StopException()
            data: bytes = events.data
            buttons, rest = decode_buttons(data)
            for pressed, detail, x, y, injected in buttons:
                self._report_button(pressed, detail, x, y, injected)
            if rest < len(data):  # anything else: python-xlib's parser and pynput's own handling
                tail = data[rest:]
                while tail:
                    event, tail = self._EVENT_PARSER.parse_binary_value(tail, self._display_record.display, None, None)
                    self._handle_message(self._display_stop, event, event.send_event)

        def _report_button(self, pressed: bool, detail: int, x: int, y: int, injected: bool) -> None:
            # What pynput's _handle_message does for a button event: scrolls are buttons 4-7, pressed only.
            scroll = self._SCROLL_BUTTONS.get(detail)
            if scroll is not None:
                if pressed:
                    self.on_scroll(x, y, scroll[0], scroll[1], injected)
                return
            button = self._buttons.get(detail)
            if button is None:
                button = self._buttons[detail] = self._button(detail)
            self.on_click(x, y, button, pressed, injected)

        def _initialize(self, display: Any) -> None:
            super()._initialize(display)
            report = self._report_move
            if report is None:
                return
            reader = open_pointer_reader()
            if reader is None:
                return  # no moves; buttons still work
            read, close = reader
            waker = open_motion_waker()
            try:
                sampler = PointerSampler(read, report, interval=interval, waker=waker)
            except OSError:  # no descriptor left for its wake pipe: no moves; buttons still work
                close()
                if waker is not None:
                    waker.close()
                return
            with self._sampler_lock:
                self._closers = [close, sampler.close]
                if self._sampler_stopped:  # stop() came first
                    self._close_sampler()
                    return
                self._sampler = sampler
                self._poller = threading.Thread(target=sampler.run, name="caprec-cursor-poll", daemon=True)
                self._poller.start()

        def _close_sampler(self) -> None:
            closers, self._closers = self._closers, []
            for close in closers:
                with contextlib.suppress(Exception):  # closing a dead connection
                    close()

        def stop(self) -> None:
            with self._sampler_lock:
                self._sampler_stopped = True
                sampler, poller = self._sampler, self._poller
            if sampler is not None:
                sampler.stop()
            super().stop()
            if poller is not None and poller is not threading.current_thread():
                poller.join(POLLER_JOIN_TIMEOUT_S)
                if not poller.is_alive():
                    with self._sampler_lock:
                        self._close_sampler()

    return FramePacedListener
