"""The cursor sidecar: a pynput mouse listener feeding a :class:`CursorWriter`, with a flush thread.

pynput is imported only when a sidecar starts (importing it connects to the
display), so this module imports without one.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from caprec.capture.cursor.format import CursorUnavailableError
from caprec.capture.cursor.writer import CursorStats, CursorWriter
from caprec.capture.errors import CaptureError

__all__ = [
    "LISTENER_JOIN_TIMEOUT",
    "LISTENER_READY_TIMEOUT",
    "CursorSidecar",
    "ListenerFactory",
]

# pynput's Linux listener may only return from stop() after the next X event.
LISTENER_JOIN_TIMEOUT = 2.0
# Time for the listener to connect to the display and report ready; a
# listener that dies first (e.g. no X RECORD extension) is noticed at once.
LISTENER_READY_TIMEOUT = 5.0
# How often a bounded wait re-checks whether the listener thread died.
_LISTENER_POLL_INTERVAL = 0.05
# Extra time for a listener's stop() itself (one round trip to the X server).
_LISTENER_STOP_MARGIN = 0.5

# pynput.mouse.Listener-compatible: called as (on_move=, on_click=, on_scroll=),
# returns an object with start(), stop(), join(timeout) and optionally wait().
ListenerFactory = Callable[..., Any]


def _default_listener_factory(fps: float | None = None) -> ListenerFactory:
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise CursorUnavailableError(
            "cursor capture needs an X display and DISPLAY is not set (Wayland-only sessions are not supported)"
        )
    try:
        # Imported here: importing pynput connects to the display, and
        # importing caprec.capture.cursor must work without one.
        from pynput import mouse  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        first = (str(exc).strip().splitlines() or ["pynput is not installed"])[0]
        raise CursorUnavailableError(f"cursor capture unavailable: {first}") from exc
    factory: ListenerFactory = mouse.Listener
    if fps and getattr(mouse.Listener, "__module__", "") == "pynput.mouse._xorg":
        # Motion sampled once per video frame: CPU bounded by the frame rate, not the mouse.
        from caprec.capture.cursor.x11 import frame_paced_listener_factory

        return frame_paced_listener_factory(mouse, fps)
    return factory


def _button_name(button: Any) -> str:
    name = getattr(button, "name", None)
    return name if isinstance(name, str) else str(button)


def _bounded_call(fn: Callable[[], object], timeout: float, name: str) -> tuple[bool, BaseException | None]:
    """Run ``fn`` on a daemon thread; return (finished in time, exception it raised)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            fn()
        except Exception as exc:  # handed back to the caller, which decides
            outcome.append(exc)
        else:
            outcome.append(None)

    # Daemon: if fn never returns (a listener stuck in the display library),
    # the thread must not keep the process alive.
    helper = threading.Thread(target=target, name=name, daemon=True)
    helper.start()
    helper.join(timeout)
    if helper.is_alive():
        return False, None
    return True, outcome[0] if outcome else None


def _wake_xorg_listener(listener: Any) -> None:
    """End pynput's X listener now rather than at the next X event.

    pynput's ``stop()`` disables the RECORD context on the connection its
    thread is blocked reading, so the request only goes out when the next
    pointer event wakes that thread: without an event, ``join`` times out
    and every recording's stop takes :data:`LISTENER_JOIN_TIMEOUT` longer.
    Disabling the context through the listener's second connection (as its
    own clean-up does) ends the blocked read at once. Other backends lack
    these attributes and are left alone.
    """
    display = getattr(listener, "_display_stop", None)
    context = getattr(listener, "_context", None)
    if display is None or context is None:
        return
    try:
        display.record_disable_context(context)
        display.flush()
    except Exception:  # the X server may be gone: stop() and the bounded join still follow
        return


class CursorSidecar:
    """Owns a pynput mouse listener feeding a CursorWriter.

    Start it before FFmpeg: events wait in the writer until its origin is
    set. If :meth:`start` raises CursorUnavailableError the writer is left
    untouched (not started, no file) and :meth:`stop` is a no-op.
    """

    def __init__(self, writer: CursorWriter, *, listener_factory: ListenerFactory | None = None) -> None:
        self._writer = writer
        self._listener_factory = listener_factory
        self._listener: Any = None
        self._started = False
        self._stopped_stats: CursorStats | None = None
        self._listener_error: str | None = None
        self._lock = threading.Lock()

    @property
    def writer(self) -> CursorWriter:
        """The writer this sidecar feeds."""
        return self._writer

    def set_origin(self, *, monotonic: float, wall: float) -> None:
        """Set t = 0 of the video on the writer (see :meth:`CursorWriter.set_origin`)."""
        self._writer.set_origin(monotonic=monotonic, wall=wall)

    def stats(self) -> CursorStats:
        """The writer's counters now (see :meth:`CursorWriter.stats`)."""
        return self._writer.stats()

    def pause(self) -> None:
        """See :meth:`CursorWriter.pause`."""
        self._writer.pause()

    def resume(self, *, offset_ms: float) -> None:
        """See :meth:`CursorWriter.resume`."""
        self._writer.resume(offset_ms=offset_ms)

    @property
    def listener_error(self) -> str | None:
        """Why the listener did not stop cleanly (stuck thread, error re-raised by join), if it did not."""
        return self._listener_error

    def start(self) -> None:
        """Start the listener, wait until it is ready, then start the writer's thread.

        Raises CursorUnavailableError if the pointer cannot be observed.
        """
        with self._lock:
            if self._started or self._stopped_stats is not None:
                raise CaptureError("cursor sidecar already started; make a new one")
            factory = self._listener_factory or _default_listener_factory(self._writer.context.fps)
            listener = factory(on_move=self._on_move, on_click=self._on_click, on_scroll=self._on_scroll)
            self._guard_listener_thread(listener)
            listener.start()
            problem = self._wait_ready(listener)
            if problem is not None and self._listener_error is not None:
                problem = f"{problem} ({self._listener_error})"
            if problem is not None:
                # pynput's stop() waits for readiness itself, so bound it too.
                _bounded_call(listener.stop, LISTENER_JOIN_TIMEOUT, "caprec-cursor-listener-stop")
                raise CursorUnavailableError(f"cursor capture unavailable: {problem}")
            try:
                self._writer.start()
            except BaseException:
                _bounded_call(listener.stop, LISTENER_JOIN_TIMEOUT, "caprec-cursor-listener-stop")
                raise
            self._listener = listener
            self._started = True

    def _guard_listener_thread(self, listener: Any) -> None:
        """Keep an error on the listener's own thread off stderr: record it instead.

        When the X server goes away mid-recording, pynput's listener thread
        dies with ConnectionClosedError, and Python would print its traceback
        on caprec's stderr. The error is kept as :attr:`listener_error`; the
        recording goes on (the video reports the lost display itself).
        """
        if not isinstance(listener, threading.Thread):
            return
        run = listener.run

        def guarded_run() -> None:
            try:
                run()
            except Exception as exc:  # any failure of the listener thread: recorded, not printed
                self._listener_error = f"mouse listener stopped: {exc}"

        listener.run = guarded_run  # type: ignore[method-assign]

    @staticmethod
    def _wait_ready(listener: Any) -> str | None:
        wait = getattr(listener, "wait", None)
        if wait is None:
            return None
        # pynput's wait() has no timeout and never returns if the listener's
        # thread died first (no X RECORD, display gone), so wait on a helper
        # and watch the listener thread meanwhile.
        ready = threading.Event()
        failure: list[BaseException] = []

        def target() -> None:
            try:
                wait()
            except Exception as exc:  # reported as the reason below
                failure.append(exc)
            ready.set()

        threading.Thread(target=target, name="caprec-cursor-listener-wait", daemon=True).start()
        deadline = time.monotonic() + LISTENER_READY_TIMEOUT
        is_alive = getattr(listener, "is_alive", None)
        while not ready.wait(_LISTENER_POLL_INTERVAL):
            if is_alive is not None and not is_alive() and not ready.is_set():
                return "the mouse listener stopped before it was ready"
            if time.monotonic() >= deadline:
                return f"the mouse listener was not ready within {LISTENER_READY_TIMEOUT:g} s"
        if failure:
            return f"the mouse listener failed: {failure[0]}"
        if is_alive is not None and not is_alive():
            # pynput on macOS reports ready and exits when it cannot tap events.
            hint = (
                " (macOS: allow this terminal in System Settings > Privacy & Security > Accessibility)"
                if getattr(listener, "IS_TRUSTED", True) is False
                else ""
            )
            return f"the mouse listener stopped right after starting{hint}"
        return None

    def stop(self) -> CursorStats:
        """Stop the listener (waiting at most LISTENER_JOIN_TIMEOUT for its thread), then the writer. Idempotent."""
        with self._lock:
            if self._stopped_stats is not None:
                return self._stopped_stats
            if not self._started:
                return self._writer.stats()
            listener = self._listener

            def stop_and_join() -> None:
                _wake_xorg_listener(listener)
                listener.stop()
                listener.join(LISTENER_JOIN_TIMEOUT)

            try:
                # The helper's own timeout is a margin over join's: a join
                # that ignores its timeout must not hang the recording's end.
                finished, error = _bounded_call(
                    stop_and_join, LISTENER_JOIN_TIMEOUT + _LISTENER_STOP_MARGIN, "caprec-cursor-listener-stop"
                )
                alive = getattr(listener, "is_alive", None)
                if not finished or (alive is not None and alive()):
                    self._listener_error = (
                        f"mouse listener did not exit within {LISTENER_JOIN_TIMEOUT:g} s; left behind"
                    )
                elif error is not None:
                    self._listener_error = f"mouse listener failed: {error!r}"
            finally:
                self._stopped_stats = self._writer.stop()
            return self._stopped_stats

    def __enter__(self) -> CursorSidecar:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # pynput 1.8 passes an extra ``injected`` argument; older versions do not.
    def _on_move(self, x: float, y: float, *_injected: Any) -> None:
        self._writer.on_move(x, y)

    def _on_click(self, x: float, y: float, button: Any, pressed: bool, *_injected: Any) -> None:
        self._writer.on_click(x, y, _button_name(button), pressed)

    def _on_scroll(self, x: float, y: float, dx: int, dy: int, *_injected: Any) -> None:
        self._writer.on_scroll(x, y, dx, dy)
