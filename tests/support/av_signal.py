"""Ground truth for A/V sync: a flash on the X screen and a beep into PulseAudio sinks at known instants.

Run as ``python tests/support/av_signal.py --sink speakers [--sink micsink] --period 0.5 --count 20`` with ``DISPLAY``
and ``PULSE_SERVER`` set. It covers the screen with a black window, and every ``--period`` seconds turns it
white for ``FLASH_S``; at the same instants a beep starts in one of the sinks (they take turns: event k beeps
in sink ``k % len(sinks)``, so each audio input is paired with its own flashes even in a mixed track).

Why this is exact where a player is not: audio is one continuous stream per sink through PulseAudio's simple
API with a small target buffer (``TARGET_LATENCY_MS``). Before each chunk is written the program asks the
server when the next sample will be played (``pa_simple_get_latency``: the client buffer plus the sink's), so
it puts the beep's first sample at the sample index that plays at the planned instant. The flash is drawn at
that instant (``XSync`` returns once Xvfb has painted it). Nothing depends on the player's buffer size.

It prints one JSON line per event to stdout (``{"event": k, "sink": i, "planned": t, "flash": t, "beep": t,
"flash_draw_ms": d}``, times on the monotonic clock) and, at the end, ``{"summary": ...}`` with its own error
bound (``bound_ms``, for a median over events): the median |beep - flash| of an event (a flash drawn late by
a busy machine or a busy X server shows here; ``worst_event_ms`` is the worst), plus how far the audio play
clock's answers stray (each latency answer implies when sample 0 played; 99 % of them lie within
``play_clock_p99_ms`` of their median, and the beeps are placed with the median of the last
``ORIGIN_WINDOW`` answers).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import json
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

SAMPLE_RATE = 48000
CHANNELS = 1
BEEP_HZ = 1000
BEEP_AMPLITUDE = 0.5
FLASH_S = 0.2
BEEP_S = 0.12
CHUNK_FRAMES = 240  # 5 ms: the writer's step (it places the beep to the sample, not to the chunk)
TARGET_LATENCY_MS = 40  # small, and still room for a writer starved for a few tens of ms
LEAD_S = 0.5  # the first event comes this long after the streams are steady
SPIN_S = 0.002
READY_CHUNKS = 40  # steady: 200 ms of latency answers that agree on the play clock within STEADY_S
STEADY_S = 0.002
READY_TIMEOUT_S = 15.0
ORIGIN_WINDOW = 25
REALTIME_PRIORITY = 10
SETTLE_S = 0.05  # a beep's time is read back this long after it played
BEEP_READ_TIMEOUT_S = 0.2  # the flash thread sleeps until this close to the instant, then spins
PA_SAMPLE_S16LE = 3
PA_STREAM_PLAYBACK = 1
BYTES_PER_FRAME = 2 * CHANNELS


class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]


class _BufferAttr(ctypes.Structure):
    _fields_ = [("maxlength", ctypes.c_uint32), ("tlength", ctypes.c_uint32), ("prebuf", ctypes.c_uint32),
                ("minreq", ctypes.c_uint32), ("fragsize", ctypes.c_uint32)]


def _libpulse_simple() -> ctypes.CDLL:
    name = ctypes.util.find_library("pulse-simple") or "libpulse-simple.so.0"
    lib = ctypes.CDLL(name)
    lib.pa_simple_new.restype = ctypes.c_void_p
    lib.pa_simple_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
                                  ctypes.POINTER(_SampleSpec), ctypes.c_void_p, ctypes.POINTER(_BufferAttr),
                                  ctypes.POINTER(ctypes.c_int)]
    lib.pa_simple_write.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int)]
    lib.pa_simple_get_latency.restype = ctypes.c_uint64
    lib.pa_simple_get_latency.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    lib.pa_simple_drain.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    lib.pa_simple_free.argtypes = [ctypes.c_void_p]
    return lib


class PaPlayback:
    """One playback stream into ``sink`` with a small target buffer (PulseAudio's simple API, via ctypes)."""

    def __init__(self, sink: str, *, name: str) -> None:
        self._lib = _libpulse_simple()
        spec = _SampleSpec(PA_SAMPLE_S16LE, SAMPLE_RATE, CHANNELS)
        target = SAMPLE_RATE * TARGET_LATENCY_MS // 1000 * BYTES_PER_FRAME
        minus_one = 0xFFFFFFFF  # (uint32_t) -1: the server's choice
        attr = _BufferAttr(minus_one, target, minus_one, minus_one, minus_one)
        error = ctypes.c_int(0)
        self._stream = self._lib.pa_simple_new(None, b"caprec-av-signal", PA_STREAM_PLAYBACK, sink.encode(),
                                               name.encode(), ctypes.byref(spec), None, ctypes.byref(attr),
                                               ctypes.byref(error))
        if not self._stream:
            raise RuntimeError(f"PulseAudio playback into {sink!r} failed (error {error.value})")

    def write(self, data: bytes) -> None:
        error = ctypes.c_int(0)
        if self._lib.pa_simple_write(self._stream, data, len(data), ctypes.byref(error)) < 0:
            raise RuntimeError(f"pa_simple_write failed (error {error.value})")

    def latency_s(self) -> float:
        """Seconds until the next sample written is played."""
        error = ctypes.c_int(0)
        return float(self._lib.pa_simple_get_latency(self._stream, ctypes.byref(error))) / 1e6

    def close(self) -> None:
        self._lib.pa_simple_free(self._stream)


def beep_samples(start: int, count: int, onset: int) -> bytes:
    """``count`` 16-bit samples from stream index ``start``, with a beep from index ``onset`` for ``BEEP_S``."""
    end = onset + round(BEEP_S * SAMPLE_RATE)
    out = bytearray(count * BYTES_PER_FRAME)
    level = BEEP_AMPLITUDE * 32767
    for n in range(max(start, onset), min(start + count, end)):
        value = int(level * math.sin(2 * math.pi * BEEP_HZ * (n - onset) / SAMPLE_RATE))
        out[(n - start) * 2:(n - start) * 2 + 2] = value.to_bytes(2, "little", signed=True)
    return bytes(out)


@dataclass
class _Writer:
    """Feeds one sink continuously and places its beeps at the planned instants of its events.

    A new stream stalls once (the sink starts) after its first buffer is written; the writer is ``ready``
    when the play clock is steady, and only then is it given its instants (``plan``).
    """

    stream: PaPlayback
    ready: threading.Event = field(default_factory=threading.Event)
    plan: list[float] = field(default_factory=list)  # monotonic seconds, ascending; set once, after `ready`
    beeps: dict[float, float] = field(default_factory=dict)  # planned -> when its first sample plays
    origins: list[float] = field(default_factory=list)  # implied play time of sample 0, once ready
    error: BaseException | None = None

    def run(self, stop: threading.Event) -> None:
        try:
            self._run(stop)
        except BaseException as exc:  # reported by the main thread
            self.error = exc
            self.ready.set()

    def _run(self, stop: threading.Event) -> None:
        written, steady_from = 0, 0
        pending: list[float] | None = None
        placed: list[tuple[float, int]] = []  # (planned, onset sample) not yet known to have played
        onset: int | None = None
        history: list[float] = []
        while not stop.is_set():
            now = time.monotonic()
            plays_at = now + self.stream.latency_s()  # when sample `written` will be played
            history.append(plays_at - written / SAMPLE_RATE)
            recent = history[-READY_CHUNKS:]
            if not self.ready.is_set() and len(recent) == READY_CHUNKS and max(recent) - min(recent) < STEADY_S:
                steady_from = len(history) - READY_CHUNKS
                self.ready.set()
            if self.ready.is_set():
                self.origins = history[steady_from:]
                # The play clock is linear: the median of the recent answers ignores one that came late.
                origin = statistics.median(history[-ORIGIN_WINDOW:])
                plays_at = origin + written / SAMPLE_RATE
                if pending is None and self.plan:
                    pending = list(self.plan)
                # A beep's time is taken from the clock as it stands once the beep has played: a stream that
                # ran dry in between (a starved writer) moved the clock, and the beep with it.
                while placed and origin + placed[0][1] / SAMPLE_RATE < now - SETTLE_S:
                    planned, sample = placed.pop(0)
                    self.beeps[planned] = origin + sample / SAMPLE_RATE
            while pending and pending[0] < plays_at + CHUNK_FRAMES / SAMPLE_RATE:
                planned = pending.pop(0)
                # Behind (a starved thread): the beep starts as soon as it can, and its event says how late.
                onset = written + max(0, round((planned - plays_at) * SAMPLE_RATE))
                placed.append((planned, onset))
            # Beeps are shorter than the period: only the latest one can sound in this chunk.
            chunk = beep_samples(written, CHUNK_FRAMES, onset) if onset is not None else bytes(
                CHUNK_FRAMES * BYTES_PER_FRAME)
            self.stream.write(chunk)
            written += CHUNK_FRAMES


class Flasher:
    """A window over the whole screen: black, or white while flashing."""

    def __init__(self) -> None:
        from Xlib import display  # python-xlib comes with pynput on Linux

        self._display = display.Display()
        screen = self._display.screen()
        self.size = (screen.width_in_pixels, screen.height_in_pixels)
        self._window = screen.root.create_window(0, 0, self.size[0], self.size[1], 0, screen.root_depth,
                                                 background_pixel=screen.black_pixel, override_redirect=True)
        self._white = self._window.create_gc(foreground=screen.white_pixel)
        self._black = self._window.create_gc(foreground=screen.black_pixel)
        self._window.map()
        self._window.fill_rectangle(self._black, 0, 0, *self.size)
        self._display.sync()

    def paint(self, *, white: bool) -> None:
        self._window.fill_rectangle(self._white if white else self._black, 0, 0, *self.size)
        self._display.sync()  # returns once the server has painted

    def close(self) -> None:
        self._display.close()


def _sleep_until(instant: float) -> None:
    while (left := instant - time.monotonic()) > SPIN_S:
        time.sleep(left - SPIN_S)
    while time.monotonic() < instant:
        pass


def run(sinks: Sequence[str], *, period: float, count: int, out: list[dict[str, object]]) -> dict[str, float]:
    """Play ``count`` events ``period`` apart; append one record per event to ``out``; return the error bound."""
    flasher = Flasher()
    writers = [_Writer(PaPlayback(sink, name=f"av-signal-{i}")) for i, sink in enumerate(sinks)]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), name=f"av-signal-{i}") for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    try:
        for writer in writers:
            if not writer.ready.wait(READY_TIMEOUT_S):
                raise RuntimeError("the sound server did not start playing")
        start = time.monotonic() + LEAD_S
        instants = [start + k * period for k in range(count)]
        for i, writer in enumerate(writers):
            writer.plan = instants[i::len(writers)]
        print(json.dumps({"ready": time.monotonic(), "first_event": start}), flush=True)
        for k, planned in enumerate(instants):
            _sleep_until(planned)
            before = time.monotonic()
            flasher.paint(white=True)
            drawn = time.monotonic()
            wall = time.time()
            _sleep_until(planned + FLASH_S)
            flasher.paint(white=False)
            writer = writers[k % len(writers)]
            deadline = time.monotonic() + BEEP_READ_TIMEOUT_S
            while planned not in writer.beeps and time.monotonic() < deadline and writer.error is None:
                time.sleep(CHUNK_FRAMES / SAMPLE_RATE)
            beep = writer.beeps.get(planned, math.nan)
            out.append({"event": k, "sink": k % len(writers), "planned": planned, "flash": drawn, "beep": beep,
                        "flash_draw_ms": (drawn - before) * 1000, "flash_wall": wall})
            print(json.dumps(out[-1]), flush=True)
            if writer.error is not None:
                break
        _sleep_until(instants[-1] + period)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for writer in writers:
            writer.stream.close()
        flasher.close()
    for writer in writers:
        if writer.error is not None:
            raise writer.error
    errors = [abs(float(str(e["beep"])) - float(str(e["flash"]))) * 1000 for e in out]
    clock = max(_p99_deviation_ms(w.origins) for w in writers)
    return {"worst_event_ms": max(errors), "median_event_ms": statistics.median(errors), "play_clock_p99_ms": clock,
            "bound_ms": statistics.median(errors) + clock}


def _p99_deviation_ms(origins: list[float]) -> float:
    """How far 99 % of the latency answers are from their median (what a median of them is surely within)."""
    middle = statistics.median(origins)
    deviations = sorted(abs(o - middle) for o in origins)
    return deviations[int(len(deviations) * 0.99)] * 1000


def _realtime() -> None:
    """Run ahead of the recorder on a busy machine: a late flash would count against the recording."""
    # Not root, or not Linux: it runs as it is, and its error bound says how that went.
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))


def main(argv: Sequence[str] | None = None) -> int:
    _realtime()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sink", action="append", required=True, help="a PulseAudio sink (repeat: they alternate)")
    parser.add_argument("--period", type=float, default=0.5)
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args(argv)
    records: list[dict[str, object]] = []
    summary = run(args.sink, period=args.period, count=args.count, out=records)
    print(json.dumps({"summary": summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
