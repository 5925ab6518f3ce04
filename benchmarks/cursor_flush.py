"""Cursor sidecar benchmark: flush cost against history, throughput, memory.

Phase A: one writer receives ``--events`` events (default 10M) through its
real entry points (``on_move``/``on_click``/``on_scroll``) in rounds of
``--batch`` events, each round followed by a ``flush()`` to a real file, as
the writer thread would do. That gives the end-to-end throughput, and the
process's memory is sampled at 10k, 100k, 1M and 10M events (plus
tracemalloc over a window of further events at 1M and 10M).

Phase B: writers with 10k, 100k and 1M events of history are built beside
it; then all four are flushed in turn, ``--reps`` rounds of one fresh batch
each, timing only ``flush()``. Timing them in the same window matters on a
shared machine: load from other jobs drifts over minutes. Each flush is also
timed in this thread's CPU time (user + system), which other jobs on the
machine do not inflate.

The baseline is the Cap recorder's old behaviour: every tick, the whole
history as one pretty-printed JSON document ``{"moves": [...], "clicks":
[...]}``, written over the file. It is measured at 10k, 100k and 1M events;
the 10M figure is extrapolated linearly from 1M (the work is linear in
history) and marked as such. A compact rewrite (C encoder, no indent) is also
measured, as the cheapest possible whole-file rewrite.

Usage: python benchmarks/cursor_flush.py [--events N] [--batch N] [--reps N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

# Run from a checkout without installing: the repository root holds `capture`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from caprec.capture.cursor.format import CursorContext, Region
from caprec.capture.cursor.writer import CursorWriter

CHECKPOINTS = (10_000, 100_000, 1_000_000, 10_000_000)
NAIVE_SIZES = (10_000, 100_000, 1_000_000)
NAIVE_EXTRAPOLATE_TO = 10_000_000
DEFAULT_EVENTS = 10_000_000
DEFAULT_BATCH = 1_000
DEFAULT_REPS = 30
TRACEMALLOC_WINDOW = 100_000  # events pushed under tracemalloc at a checkpoint
TRACEMALLOC_FROM = 1_000_000  # only from there: tracing is slow
CLICK_EVERY = 97  # a press/release pair every ~100 events, a scroll every ~50
SCROLL_EVERY = 53
SCREEN_W, SCREEN_H = 1920, 1080
NAIVE_REPS = {10_000: 5, 100_000: 3, 1_000_000: 1}


def rss_mib() -> float:
    """This process's resident memory now, in MiB (psutil)."""
    return float(psutil.Process().memory_info().rss) / (1024 * 1024)


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB (getrusage's ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def push(writer: CursorWriter, start: int, count: int) -> None:
    """Feed ``count`` events the way pynput's thread would."""
    on_move, on_click, on_scroll = writer.on_move, writer.on_click, writer.on_scroll
    for i in range(start, start + count):
        x = i % SCREEN_W
        y = (i * 7) % SCREEN_H
        if i % CLICK_EVERY == 0:
            on_click(x, y, "left", (i // CLICK_EVERY) % 2 == 0)
        elif i % SCROLL_EVERY == 0:
            on_scroll(x, y, 0, -1)
        else:
            on_move(x, y)


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} us"


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def new_writer(path: Path) -> CursorWriter:
    ctx = CursorContext("bench", "lavfi", Region(0, 0, SCREEN_W, SCREEN_H), SCREEN_W, SCREEN_H)
    writer = CursorWriter(path, ctx)
    writer.set_origin(monotonic=time.monotonic(), wall=time.time())
    return writer


def fill(writer: CursorWriter, start: int, stop: int, batch: int) -> None:
    """Push events start..stop in rounds of ``batch``, flushing after each round."""
    for first in range(start, stop, batch):
        n = min(batch, stop - first)
        push(writer, first, n)
        writer.flush()


def run_caprec(directory: Path, total: int, batch: int, reps: int) -> dict[str, Any]:
    """Phase A: one writer to ``total`` events (throughput, memory).

    Phase B: writers with 10k, 100k and 1M events of history are built beside
    it, then all are flushed in turn, ``reps`` rounds of one batch each. The
    machine is shared (two cores, other jobs), so only flushes timed in the
    same window are compared.
    """
    checkpoints = [c for c in CHECKPOINTS if c <= total]
    big = new_writer(directory / "history-big.ndjson")
    memory: dict[int, dict[str, float]] = {}
    pushed = 0
    busy = 0.0  # time spent pushing and flushing, outside the tracemalloc windows
    busy_cpu = 0.0  # the same in this thread's CPU time: what the writer costs, whatever else runs
    busy_events = 0
    for checkpoint in checkpoints:
        began, began_cpu = time.perf_counter(), time.thread_time()
        fill(big, pushed, checkpoint, batch)
        busy += time.perf_counter() - began
        busy_cpu += time.thread_time() - began_cpu
        busy_events += checkpoint - pushed
        pushed = checkpoint
        sample: dict[str, float] = {"rss_mib": rss_mib()}
        if checkpoint >= TRACEMALLOC_FROM:
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            fill(big, pushed, pushed + TRACEMALLOC_WINDOW, batch)
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            pushed += TRACEMALLOC_WINDOW
            sample["traced_current_kib"] = (current - base) / 1024
            sample["traced_peak_kib"] = (peak - base) / 1024
        memory[checkpoint] = sample
    rss_peak = peak_rss_mib()

    writers: dict[int, CursorWriter] = {}
    for checkpoint in checkpoints[:-1]:
        writers[checkpoint] = new_writer(directory / f"history-{checkpoint}.ndjson")
        fill(writers[checkpoint], 0, checkpoint, batch)
    writers[checkpoints[-1]] = big
    histories = {c: w.stats().events for c, w in writers.items()}
    flush_times: dict[int, list[float]] = {c: [] for c in writers}
    flush_cpu: dict[int, list[float]] = {c: [] for c in writers}
    order = list(writers)
    for rep in range(reps):
        # Rotate who goes first so no writer always follows the same one.
        for checkpoint in order[rep % len(order) :] + order[: rep % len(order)]:
            writer = writers[checkpoint]
            push(writer, pushed, batch)
            t0, c0 = time.perf_counter(), time.thread_time()
            writer.flush()
            flush_cpu[checkpoint].append(time.thread_time() - c0)
            flush_times[checkpoint].append(time.perf_counter() - t0)
        pushed += batch
    stats = big.stop()
    for writer in writers.values():
        writer.stop()
        writer.path.unlink()
    return {
        "histories": histories,
        "flush_times": flush_times,
        "flush_cpu": flush_cpu,
        "memory": memory,
        "throughput": busy_events / busy if busy else 0.0,
        "throughput_cpu": busy_events / busy_cpu if busy_cpu else 0.0,
        "stats": stats,
        "file_mib": (stats.bytes_written) / 2**20,
        "rss_peak_mib": rss_peak,
    }


def cap_document(n: int) -> dict[str, list[dict[str, Any]]]:
    """Cap's in-memory history: every move and click ever seen, as objects."""
    moves: list[dict[str, Any]] = []
    clicks: list[dict[str, Any]] = []
    for i in range(n):
        t = i * 16.0
        x, y = (i % SCREEN_W) / SCREEN_W, ((i * 7) % SCREEN_H) / SCREEN_H
        if i % CLICK_EVERY == 0:
            clicks.append({"down": (i // CLICK_EVERY) % 2 == 0, "cursor_num": 0, "cursor_id": "0", "time_ms": t})
        else:
            moves.append({"active_modifiers": [], "cursor_id": "0", "time_ms": t, "x": x, "y": y})
    return {"moves": moves, "clicks": clicks}


def naive_flush(path: Path, document: dict[str, Any], *, indent: int | None) -> float:
    t0 = time.perf_counter()
    text = json.dumps(document, indent=indent)
    path.write_text(text)  # truncates and rewrites the whole file, as Cap did
    return time.perf_counter() - t0


def run_naive(directory: Path, sizes: tuple[int, ...]) -> dict[int, dict[str, float]]:
    path = directory / "naive-cursor.json"
    results: dict[int, dict[str, float]] = {}
    for n in sizes:
        document = cap_document(n)
        reps = NAIVE_REPS.get(n, 1)
        pretty = statistics.median(naive_flush(path, document, indent=2) for _ in range(reps))
        pretty_bytes = path.stat().st_size
        compact = statistics.median(naive_flush(path, document, indent=None) for _ in range(reps))
        results[n] = {"pretty": pretty, "compact": compact, "bytes_per_event": pretty_bytes / n}
        del document
    path.unlink(missing_ok=True)
    return results


def step(label: str, fn: Callable[[], Any]) -> Any:
    print(f"... {label}", file=sys.stderr, flush=True)
    return fn()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="history to build (default 10M)")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="new events per flush (default 1000)")
    parser.add_argument("--reps", type=int, default=DEFAULT_REPS, help="timed flushes per checkpoint")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files (default: a temp dir)")
    args = parser.parse_args()

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="caprec-bench-") as tmp:
        directory = Path(tmp)
        caprec = step("caprec writer", lambda: run_caprec(directory, args.events, args.batch, args.reps))
        naive = step("naive rewrite", lambda: run_naive(directory, NAIVE_SIZES))
    elapsed = time.perf_counter() - began

    print(f"$ python {shlex.join(sys.argv)}")
    print(
        f"python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs; total run {elapsed:.0f} s; load average {load_before} before, "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after"
    )
    print()
    print(
        f"Flush of {args.batch} new events, by events already flushed (caprec: {args.reps} flushes per writer, "
        "all writers flushed in turn in the same time window)"
    )
    print(
        f"{'history':>12} | {'caprec median':>13} | {'caprec min':>10} | {'caprec p90':>10} | {'CPU median':>10} | "
        f"{'naive pretty':>13} | {'naive compact':>13}"
    )
    print("-" * 101)
    caprec_median: dict[int, float] = {}
    caprec_cpu: dict[int, float] = {}
    for nominal, samples in caprec["flush_times"].items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else median
        caprec_median[nominal] = median
        if nominal in naive:
            pretty, compact = fmt_s(naive[nominal]["pretty"]), fmt_s(naive[nominal]["compact"])
        elif NAIVE_SIZES and nominal == NAIVE_EXTRAPOLATE_TO:
            scale = nominal / NAIVE_SIZES[-1]
            pretty = fmt_s(naive[NAIVE_SIZES[-1]]["pretty"] * scale) + "*"
            compact = fmt_s(naive[NAIVE_SIZES[-1]]["compact"] * scale) + "*"
        else:
            pretty = compact = "-"
        history = caprec["histories"][nominal]
        cpu = statistics.median(caprec["flush_cpu"][nominal])
        caprec_cpu[nominal] = cpu
        print(
            f"{history:>12,} | {fmt_us(median):>13} | {fmt_us(min(samples)):>10} | {fmt_us(p90):>10} | "
            f"{fmt_us(cpu):>10} | {pretty:>13} | {compact:>13}"
        )
    if NAIVE_EXTRAPOLATE_TO in caprec_median:
        print("* extrapolated linearly from the 1M measurement (not measured)")
    if NAIVE_SIZES:
        per_event = naive[NAIVE_SIZES[-1]]["bytes_per_event"]
        print(f"naive pretty file: {per_event:.0f} bytes per event; caprec file: {caprec['file_mib']:,.0f} MiB")
    print()
    first, last = CHECKPOINTS[0], max(caprec_median)
    if first in caprec_median and last != first:
        ratio = caprec_median[last] / caprec_median[first]
        cpu_ratio = caprec_cpu[last] / caprec_cpu[first]
        print(f"flush({last:,}) / flush({first:,}) = {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU   (goal <= 1.5x)")
    if 1_000_000 in caprec_median and 1_000_000 in naive:
        pretty_ratio = naive[1_000_000]["pretty"] / caprec_median[1_000_000]
        compact_ratio = naive[1_000_000]["compact"] / caprec_median[1_000_000]
        print(f"naive pretty(1M) / caprec(1M) = {pretty_ratio:,.0f}x   (goal >= 1000x)")
        print(f"naive compact(1M) / caprec(1M) = {compact_ratio:,.0f}x   (cheapest possible rewrite)")
    print()
    stats = caprec["stats"]
    busy_label = f"{max(c for c in CHECKPOINTS if c <= args.events):,} events"
    print(
        f"Throughput end to end (on_* calls + flush every {args.batch} events to a file, {busy_label}): "
        f"{caprec['throughput']:,.0f} events/s wall, {caprec['throughput_cpu']:,.0f} events per CPU-second   "
        "(goal >= 200,000/s)"
    )
    print(
        f"writer totals: {stats.events:,} events written ({stats.moves:,} moves, {stats.clicks:,} clicks, "
        f"{stats.scrolls:,} scrolls), {stats.dropped} dropped, {stats.write_errors} write errors, "
        f"{stats.flushes_written:,} flushes"
    )
    print()
    print(f"Memory (RSS of the whole process; tracemalloc over {TRACEMALLOC_WINDOW:,} more events pushed and flushed)")
    print(f"{'history':>12} | {'RSS now':>10} | {'traced kept':>12} | {'traced peak':>12}")
    print("-" * 56)
    for history, mem in caprec["memory"].items():
        kept = f"{mem['traced_current_kib']:>8.1f} KiB" if "traced_current_kib" in mem else "-"
        peak = f"{mem['traced_peak_kib']:>8.1f} KiB" if "traced_peak_kib" in mem else "-"
        print(f"{history:>12,} | {mem['rss_mib']:>6.1f} MiB | {kept:>12} | {peak:>12}")
    print(f"peak RSS (getrusage maxrss) after phase A: {caprec['rss_peak_mib']:.1f} MiB "
          "(before the naive baseline ran)")


if __name__ == "__main__":
    main()
