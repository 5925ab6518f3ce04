"""The live display: the stats panel, its warning line, the plain and quiet modes, and a real terminal."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from caprec.boundary import error_console
from caprec.capture.cursor.writer import CursorStats
from caprec.capture.ffmpeg.progress import FFmpegProgress
from caprec.capture.record.segment import RecordingResult, RecordingStats, Status, StopControl
from caprec.env import Environment
from caprec.ui.display import LIVE_REFRESH_PER_SECOND, LiveDisplay, PlainDisplay, print_summary
from caprec.ui.feeds import DeferredDisplay, QuietDisplay, TeeDisplay, WarningTally, reads_stats
from caprec.ui.panel import DROP_WINDOW_MAX_SNAPSHOTS, WARNING_HOLD_S, DropWindow, StatsView, drop_warning, stats_line
from caprec.ui.reports import StatsFileWriter
from rich.console import Console
from support.clock import FakeClock
from support.media import ffprobe
from support.process import python_argv
from support.pty import spawn_in_pty

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SGR = re.compile(r"\x1b\[([0-9;]*)m")
# A frame count in the live panel, with the escape codes rich puts between label and value.
FRAMES = re.compile(r"frames (?:\x1b\[[0-9;]*m)*\s*(\d+)")
PTY_TIMEOUT_S = 60.0
RunCaprec = Callable[..., "subprocess.CompletedProcess[str]"]
RECORD_S = 3


def cursor_stats(events: int = 0) -> CursorStats:
    return CursorStats(events=events, moves=events, clicks=0, scrolls=0, flushes_written=events // 10,
                       flushes_skipped=1, dropped=0, bytes_written=events * 40, write_errors=0, last_error=None)


def make_stats(elapsed: float = 2.0, frames: int = 60, drops: int = 0, *, duration: float | None = 10.0,
               cursor: CursorStats | None = None, started: bool = True, size: int = 1_500_000) -> RecordingStats:
    progress = FFmpegProgress(frame=frames, fps=29.5, bitrate_kbps=2500.0, drop_frames=drops, dup_frames=1,
                              speed=1.01, out_time_s=elapsed)
    return RecordingStats(elapsed_s=elapsed, target_fps=30.0, duration_s=duration, progress=progress, bytes=size,
                          pipe_size=1 << 20, pipe_high_water=65536, chunk_size=1 << 20, warnings=0,
                          last_warning=None, started=started, cursor=cursor)


def render(view: StatsView, *, width: int, no_color: bool = False) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, no_color=no_color,
                      color_system="truecolor", legacy_windows=False)
    console.print(view)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


def plain_lines(text: str) -> list[str]:
    """The rendered lines without escape codes; the blank warning line counts."""
    lines = ANSI.sub("", text).split("\n")
    assert lines[-1] == "", "a rendering ends with a newline"
    return lines[:-1]


# --- the sliding window of dropped frames -------------------------------------------------------------


def test_drop_window_measures_the_last_seconds_only() -> None:
    window = DropWindow(window_s=5.0)
    for step in range(41):  # 10 s of snapshots, 4 a second: 10 drops in the first 2 s, none after
        elapsed = step * 0.25
        window.add(elapsed, frames=int(elapsed * 30), drops=min(10, step))
        if elapsed == 2.0:
            ratio = window.ratio()
            assert ratio is not None and ratio > 0.1
    assert window.ratio() == 0.0


def test_drop_window_memory_is_bounded() -> None:
    window = DropWindow(window_s=1e9)  # a window that would keep everything
    for step in range(10_000):
        window.add(step * 0.25, frames=step * 8, drops=0)
    assert len(window) <= DROP_WINDOW_MAX_SNAPSHOTS


def test_drop_window_starts_over_for_a_new_recording() -> None:
    window = DropWindow()
    window.add(9.0, frames=270, drops=100)
    window.add(9.25, frames=277, drops=101)
    window.add(0.25, frames=7, drops=0)  # the next capture of a batch
    assert window.ratio() is None


def test_drop_warning_threshold_is_one_percent() -> None:
    assert drop_warning(0.01) is None
    assert drop_warning(None) is None
    warning = drop_warning(0.02)
    assert warning is not None and "2.0%" in warning and "5 s" in warning


# --- the panel ----------------------------------------------------------------------------------------


def test_panel_shows_every_stat() -> None:
    view = StatsView(cursor=True, verbose=True)
    view.update(make_stats(cursor=cursor_stats(42)))
    text = "\n".join(plain_lines(render(view, width=120)))
    for expected in ("● REC", "00:00:02.0 / 00:00:10.0", "8.0 s left", "frames", "60", "29.5/30", "dropped",
                     "dup", "1.4 MiB", "2500 kb/s", "speed 1.01x", "pipe", "1.0 MiB", "high-water",
                     "64.0 KiB", "(6%)", "cursor", "42", "moves", "clicks", "scrolls",
                     "flushes 4 written/1 skipped"):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    assert "━" in text and "─" in text  # the progress bar, done and to do


def test_panel_without_duration_has_no_bar_and_says_how_to_stop() -> None:
    view = StatsView()
    view.update(make_stats(duration=None))
    text = "\n".join(plain_lines(render(view, width=100)))
    assert "until stopped" in text and "left" not in text and "━" not in text


def test_panel_before_the_first_frame() -> None:
    view = StatsView()
    assert "starting…" in render(view, width=80)
    view.update(make_stats(started=False, frames=0))
    assert "starting…" in render(view, width=80)
    # FFmpeg has written its header but no frame yet: still not recording.
    view.update(make_stats(elapsed=0.1, frames=0))
    text = render(view, width=80)
    assert "starting…" in text and "REC" not in text
    view.update(make_stats(elapsed=0.2, frames=1))
    assert "● REC" in render(view, width=80)


@pytest.mark.parametrize("width", [20, 40, 60, 80, 200])
def test_panel_fits_the_width_and_keeps_its_height(width: int) -> None:
    view = StatsView()
    view.update(make_stats(elapsed=0.5, frames=15, size=700))
    first = plain_lines(render(view, width=width))
    # Bigger numbers and a warning: the height must not change (no jumping panel).
    view.update(make_stats(elapsed=9.5, frames=285, drops=40, size=900_000_000, cursor=None))
    view.warn("[mp4 @ 0x1] Thread message queue blocking; consider raising the thread_queue_size option")
    second = plain_lines(render(view, width=width))
    assert len(first) == len(second)
    for line in first + second:
        assert len(line) <= width, f"{line!r} is wider than {width}"


def test_panel_at_40_columns_folds_instead_of_truncating_everything() -> None:
    view = StatsView(cursor=True, verbose=True)
    view.update(make_stats(cursor=cursor_stats(7)))
    text = "\n".join(plain_lines(render(view, width=40)))
    for expected in ("frames", "dropped", "size", "bitrate", "pipe", "cursor", "left"):
        assert expected in text


def test_no_color_means_no_colour_codes() -> None:
    view = StatsView()
    view.update(make_stats(drops=0))
    view.update(make_stats(elapsed=3.0, frames=80, drops=30))  # a red/yellow warning line when coloured
    coloured = render(view, width=100)
    plain = render(view, width=100, no_color=True)

    def colours(text: str) -> list[str]:
        found = []
        for params in SGR.findall(text):
            codes = [int(code) for code in params.split(";") if code]
            found += [str(code) for code in codes if 30 <= code <= 49 or 90 <= code <= 107]
        return found

    assert colours(coloured), "the coloured panel should have colours (else this test proves nothing)"
    assert colours(plain) == []
    assert "━" in plain and "─" in plain  # the bar still reads without colour


def test_error_console_honours_no_color() -> None:
    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    console = error_console(Environment(stderr=TTY(), environ={"NO_COLOR": "1"}))
    assert console.no_color and console.is_terminal
    assert not error_console(Environment(stderr=TTY(), environ={})).no_color


def test_warning_line_for_dropped_frames_comes_and_goes() -> None:
    view = StatsView()
    view.update(make_stats(elapsed=1.0, frames=30, drops=0))
    assert view.warning_text() is None
    view.update(make_stats(elapsed=2.0, frames=55, drops=5))
    warning = view.warning_text()
    assert warning is not None and "dropped in the last 5 s" in warning
    assert "⚠" in render(view, width=120)
    for step in range(1, 30):  # 7 s without a drop: the window has moved on
        view.update(make_stats(elapsed=2.0 + step * 0.25, frames=55 + step * 8, drops=5))
    assert view.warning_text() is None


def test_few_drops_are_not_a_warning() -> None:
    view = StatsView()
    view.update(make_stats(elapsed=0.0, frames=0, drops=0))
    view.update(make_stats(elapsed=5.0, frames=150, drops=1))  # 0.66 %
    assert view.warning_text() is None


def test_ffmpeg_warning_shows_with_its_count_then_expires() -> None:
    clock = FakeClock()
    view = StatsView(clock=clock)
    view.update(make_stats())
    view.warn("[x11grab] Thread message queue blocking")
    view.warn("[x11grab] Thread message queue blocking")
    warning = view.warning_text()
    assert warning is not None and "Thread message queue blocking (x2)" in warning
    clock.now += WARNING_HOLD_S + 1
    assert view.warning_text() is None


def test_paused_state_is_shown() -> None:
    view = StatsView()
    base = make_stats()
    view.update(dataclasses.replace(base, paused=True))
    assert "PAUSED" in render(view, width=100)
    view.update(base)
    assert "PAUSED" not in render(view, width=100)


def test_a_stall_is_shown_in_the_panel_and_the_plain_line() -> None:
    """Issue 9 item 7: no new frame for a while is a visible state, with how long, until frames come again."""
    view = StatsView()
    stalled = dataclasses.replace(make_stats(), stalled_s=3.4, stalls=1)
    view.update(stalled)
    text = "\n".join(plain_lines(render(view, width=100)))
    assert "● REC STALLED 3s" in text, text
    assert stats_line(stalled).startswith("STALLED 3s  "), stats_line(stalled)
    going = make_stats(elapsed=2.5, frames=75)
    view.update(going)
    assert "STALLED" not in render(view, width=100)
    assert "STALLED" not in stats_line(going)


def test_countdown_before_a_delayed_start() -> None:
    clock = FakeClock()
    view = StatsView(clock=clock)
    view.wait(3.0)
    clock.now += 1.0
    assert "starting in 2.0 s" in render(view, width=80)
    view.update(make_stats())
    assert "starting in" not in render(view, width=80)


def bogus_start(elapsed: float, frames: int, *, segment: int = 1, bitrate: float = 95508.0) -> RecordingStats:
    """FFmpeg's first progress block of a run: 0.0 fps, a huge bitrate, 0.01x (as seen in issue 10)."""
    progress = FFmpegProgress(frame=frames, fps=0.0, bitrate_kbps=bitrate, drop_frames=0, dup_frames=0,
                              speed=0.01, out_time_s=0.03)
    return dataclasses.replace(make_stats(elapsed=elapsed, frames=frames), progress=progress, segment=segment)


def test_no_bogus_rates_at_the_start_or_after_a_resume() -> None:
    view = StatsView()
    view.update(bogus_start(0.2, 1))
    text = "\n".join(plain_lines(render(view, width=100)))
    assert "95508" not in text and "0.0/30" not in text and "0.01x" not in text, text
    assert "fps    -/30" in text and "speed     -" in text
    view.update(make_stats(elapsed=2.0, frames=60))  # a second in: FFmpeg's averages mean something
    assert "29.5/30" in render(view, width=100) and "2500" in render(view, width=100)
    paused = dataclasses.replace(make_stats(elapsed=2.0, frames=60), paused=True, segment=1)
    view.update(paused)
    text = "\n".join(plain_lines(render(view, width=100)))
    assert "PAUSED" in text and "2500 kb/s" in text and "29.5/30" not in text  # the bitrate is a total
    # Resumed: a new FFmpeg run's first block; the engine makes its bitrate the total over the segments.
    view.update(bogus_start(2.1, 61, segment=2, bitrate=2450.0))
    text = "\n".join(plain_lines(render(view, width=100)))
    assert "0.0/30" not in text and "0.01x" not in text and "● REC" in text, text
    assert "2450 kb/s" in text
    view.update(dataclasses.replace(make_stats(elapsed=3.5, frames=100), segment=2))
    assert "29.5/30" in render(view, width=100)


def test_elapsed_never_goes_back_and_never_passes_the_duration() -> None:
    view = StatsView()
    shown = []
    for elapsed, paused in ((1.0, False), (4.2, False), (4.0, True), (4.1, False), (9.9, False), (10.4, False)):
        view.update(dataclasses.replace(make_stats(elapsed=elapsed, duration=10.0), paused=paused,
                                        segment=2 if elapsed == 4.1 else 1))
        shown.append(view.shown_elapsed)
    assert shown == sorted(shown), shown
    assert max(shown) == 10.0
    text = render(view, width=100)
    assert "00:00:10.0 / 00:00:10.0" in text and "0.0 s left" in text and "finishing…" in text


def test_stopping_state_after_ctrl_c() -> None:
    stop = StopControl()
    view = StatsView(stop=stop, pausable=True)
    view.update(make_stats())
    assert "● REC" in render(view, width=100)
    stop.request()  # read at the next redraw: no stats need to arrive (the panel froze ~1 s before)
    text = "\n".join(plain_lines(render(view, width=100)))
    assert "■ stopping…" in text and "REC" not in text and "Ctrl-C again: stop now" in text
    stop.request()
    assert "stopping now…" in render(view, width=100)


def test_key_hints_say_what_works_now() -> None:
    view = StatsView(pausable=True)
    view.update(make_stats())
    last = plain_lines(render(view, width=100))[-1]
    assert last == "space/p pause  Ctrl-C stop  twice: stop now"
    view.update(dataclasses.replace(make_stats(), paused=True))
    assert plain_lines(render(view, width=100))[-1].startswith("space/p resume")
    streaming = StatsView(pausable=False)  # -o -: no pause
    streaming.update(make_stats())
    assert plain_lines(render(streaming, width=100))[-1] == "Ctrl-C stop  twice: stop now"


def test_internals_only_with_verbose_and_cursor_only_when_logged() -> None:
    quiet = StatsView(cursor=True)
    quiet.update(make_stats(cursor=cursor_stats(42)))
    text = "\n".join(plain_lines(render(quiet, width=120)))
    assert "cursor" in text and "42" in text
    for internal in ("pipe", "high-water", "flushes"):
        assert internal not in text
    verbose = StatsView(cursor=True, verbose=True)
    verbose.update(make_stats(cursor=cursor_stats(42)))
    text = "\n".join(plain_lines(render(verbose, width=120)))
    assert "high-water" in text and "flushes 4 written/1 skipped" in text
    # A cursor log that is on shows counts from the start, never "cursor off".
    starting = StatsView(cursor=True)
    assert "cursor off" not in render(starting, width=120) and "cursor" in render(starting, width=120)
    assert "cursor" not in render(StatsView(cursor=False), width=120)


@pytest.mark.parametrize("width", [60, 80])
def test_panel_folds_cleanly_at_60_and_80_columns(width: int) -> None:
    view = StatsView(pausable=True, cursor=True)
    view.update(make_stats(elapsed=5.0, frames=150, cursor=cursor_stats(1234)))
    lines = plain_lines(render(view, width=width))
    for line in lines:
        assert len(line) <= width and "…" not in line.replace("starting…", ""), (width, line)
    text = "\n".join(lines)
    for expected in ("● REC", "left", "frames", "fps", "size", "bitrate", "speed", "cursor", "space/p pause"):
        assert expected in text, (expected, text)


def test_summary_counts_the_warnings_the_panel_counted() -> None:
    view = StatsView()
    tally = WarningTally()
    both = TeeDisplay(LiveDisplay(Console(file=io.StringIO()), view=view), tally)
    for _ in range(2):
        both.warn("[x11grab] Thread message queue blocking")
    warning = view.warning_text()
    assert warning is not None and "(x2)" in warning
    stats = make_stats()  # FFmpeg's own count says 0: the summary must still say 2, like the panel
    result = RecordingResult(status=Status.COMPLETE, stop_reason="duration", path=Path("a.mp4"), argv=[],
                             stats=stats, media=None, remuxed=True)
    out = io.StringIO()
    print_summary(Console(file=out, width=200), result, warnings=tally)
    assert "2 warnings; last: [x11grab] Thread message queue blocking" in out.getvalue()


# --- plain lines for logs -----------------------------------------------------------------------------


def test_plain_display_prints_a_line_every_few_seconds() -> None:
    clock = FakeClock()
    out = io.StringIO()
    display = PlainDisplay(Console(file=out, width=200), clock=clock, interval=5.0)
    for step in range(80):  # 20 s of stats, 4 a second
        display.update(make_stats(elapsed=step * 0.25, frames=step * 7 + 1))
        clock.now += 0.25
    lines = [line for line in out.getvalue().splitlines() if line.startswith("recording ")]
    assert len(lines) == 3  # at 5, 10 and 15 s: one interval in, then one per interval
    assert "\x1b[" not in out.getvalue()
    assert all("frames" in line and "fps" in line and "size" in line for line in lines)


def test_plain_line_after_a_resume_has_no_bogus_rates_and_no_time_going_back() -> None:
    clock = FakeClock()
    out = io.StringIO()
    display = PlainDisplay(Console(file=out, width=200), clock=clock, interval=5.0)
    display.update(make_stats(elapsed=4.0, frames=120))
    clock.now += 5.0
    display.update(dataclasses.replace(make_stats(elapsed=3.8, frames=120), paused=True))  # recorded time: 3.8
    clock.now += 5.0
    display.update(bogus_start(3.9, 121, segment=2))  # the first block after the resume
    lines = [line for line in out.getvalue().splitlines() if line.startswith("recording ")]
    assert len(lines) == 2, lines
    assert all("00:00:04.0" in line for line in lines), lines  # never back to 3.8 or 3.9
    assert "fps -/30" in lines[-1] and "speed -" in lines[-1] and "0.01x" not in lines[-1], lines


def test_plain_display_warns_once_per_repeat_and_on_drops() -> None:
    clock = FakeClock()
    out = io.StringIO()
    display = PlainDisplay(Console(file=out, width=200), clock=clock, interval=5.0)
    for _ in range(10):
        display.warn("Thread message queue blocking")
        clock.now += 0.1
    display.update(make_stats(elapsed=1.0, frames=30, drops=0))
    display.update(make_stats(elapsed=1.25, frames=35, drops=3))
    display.update(make_stats(elapsed=1.5, frames=40, drops=6))
    text = out.getvalue()
    assert text.count("Thread message queue blocking") == 1
    assert text.count("dropped in the last") == 1  # when it starts, not on every snapshot


# --- the real thing, in a terminal and not --------------------------------------------------------------


def _spawn_env(caprec_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = dict(caprec_env)  # scrubbed_environ: no CAPREC_* variable
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # no personal config file
    env["TERM"] = "xterm-256color"
    return env


def _pty_record(caprec_env: dict[str, str], tmp_path: Path, *, columns: int) -> tuple[list[int], str, int, float]:
    pexpect = pytest.importorskip("pexpect")
    argv = python_argv("record", "--source", "test", "-d", str(RECORD_S), "-o", str(tmp_path / "pty.mp4"))
    started = time.monotonic()
    child = spawn_in_pty(argv, cwd=tmp_path, env=_spawn_env(caprec_env, tmp_path), columns=columns,
                         timeout=PTY_TIMEOUT_S)
    try:
        # Two reads at different moments: the frame count must have grown between them.
        child.expect(FRAMES)
        first = int(child.match.group(1))
        seen = [first]
        while seen[-1] <= first:
            child.expect(FRAMES)
            seen.append(int(child.match.group(1)))
        child.expect(pexpect.EOF)
        rest = child.before
    finally:
        child.close(force=True)
    assert isinstance(rest, str)
    seen += [int(value) for value in FRAMES.findall(rest)]
    return seen, rest, child.exitstatus, time.monotonic() - started


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_live_stats_appear_and_change_in_a_terminal(caprec_env: dict[str, str], tmp_path: Path) -> None:
    frames, rest, status, wall = _pty_record(caprec_env, tmp_path, columns=100)
    assert status == 0, rest
    assert frames[0] < max(frames), frames
    assert "saved:" in rest
    assert (tmp_path / "pty.mp4").stat().st_size > 0
    # Refreshed at most 4 times a second: one frame count per redraw of the panel.
    assert len(frames) <= LIVE_REFRESH_PER_SECOND * wall + 2, (len(frames), wall)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_live_display_in_a_narrow_terminal(caprec_env: dict[str, str], tmp_path: Path) -> None:
    frames, rest, status, _ = _pty_record(caprec_env, tmp_path, columns=40)
    assert status == 0, rest
    assert frames[0] < max(frames)
    assert "Traceback" not in rest


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_not_a_terminal_means_plain_text(run_caprec: RunCaprec, caprec_env: dict[str, str], tmp_path: Path) -> None:
    result = run_caprec(["record", "--source", "test", "-d", "1", "-o", str(tmp_path / "plain.mp4")],
                        cwd=tmp_path, env=_spawn_env(caprec_env, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stderr
    assert "saved:" in result.stderr


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_quiet_prints_nothing_on_success(run_caprec: RunCaprec, caprec_env: dict[str, str], tmp_path: Path) -> None:
    result = run_caprec(["record", "--source", "test", "-d", "1", "-q", "-o", str(tmp_path / "quiet.mp4")],
                        cwd=tmp_path, env=_spawn_env(caprec_env, tmp_path))
    assert result.returncode == 0
    assert result.stderr == "" and result.stdout == ""
    assert os.path.getsize(tmp_path / "quiet.mp4") > 0


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_space_and_p_pause_and_resume_in_a_terminal(caprec_env: dict[str, str], tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    output = tmp_path / "keys.mp4"
    argv = python_argv("record", "--source", "test", "-o", str(output))
    child = spawn_in_pty(argv, cwd=tmp_path, env=_spawn_env(caprec_env, tmp_path), columns=100,
                         timeout=PTY_TIMEOUT_S)
    try:
        child.expect(FRAMES)
        child.send(" ")
        child.expect("PAUSED")
        child.send("p")
        child.expect("REC")  # recording again: the panel's head is back to ● REC
        child.expect(FRAMES)
        child.sendintr()
        child.expect(pexpect.EOF)
        rest = child.before
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, rest
    assert "saved:" in rest
    assert ffprobe(output).frames > 0


ELAPSED = re.compile(r"(\d\d):(\d\d):(\d\d\.\d) / 00:00:0(\d)\.0")
FPS_SHOWN = re.compile(r"fps\s+([-0-9.]+)/")


def _seconds(match: re.Match[str]) -> float:
    hours, minutes, secs = match.group(1), match.group(2), match.group(3)
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
@pytest.mark.parametrize("columns", [80, 120])
def test_panel_in_a_terminal_starts_counts_and_finishes_honestly(caprec_env: dict[str, str], tmp_path: Path,
                                                                 columns: int) -> None:
    pexpect = pytest.importorskip("pexpect")
    argv = python_argv("record", "--source", "test", "-d", str(RECORD_S), "-o", str(tmp_path / "honest.mp4"))
    child = spawn_in_pty(argv, cwd=tmp_path, env=_spawn_env(caprec_env, tmp_path), columns=columns,
                         timeout=PTY_TIMEOUT_S)
    try:
        child.expect(pexpect.EOF)
        transcript = ANSI.sub("", child.before)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, transcript
    assert "starting…" in transcript and "● REC" in transcript
    assert transcript.index("starting…") < transcript.index("● REC"), "REC only from the first frame"
    assert "space/p pause" in transcript and "Ctrl-C stop" in transcript
    shown = [_seconds(m) for m in ELAPSED.finditer(transcript)]
    assert shown and shown == sorted(shown), shown  # never goes back
    assert max(shown) <= RECORD_S, shown  # never past the duration
    fps = [value for value in FPS_SHOWN.findall(transcript) if value != "-"]
    assert fps and all(float(value) > 0 for value in fps), fps  # no 0.0 fps: rates wait for a settled run
    assert "pipe" not in transcript and "high-water" not in transcript  # internals only with --verbose


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_ctrl_c_shows_stopping_then_saves(caprec_env: dict[str, str], tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    output = tmp_path / "stop.mp4"
    argv = python_argv("record", "--source", "test", "--verbose", "-o", str(output))
    child = spawn_in_pty(argv, cwd=tmp_path, env=_spawn_env(caprec_env, tmp_path), columns=80,
                         timeout=PTY_TIMEOUT_S)
    try:
        child.expect("REC")
        child.expect(FRAMES)
        child.expect("high-water")  # --verbose shows the internals
        child.sendintr()
        child.expect("stopping…")
        child.expect(pexpect.EOF)
        rest = child.before
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, rest
    assert "saved:" in rest
    assert ffprobe(output).frames > 0


# --- who reads the live stats ----------------------------------------------------------------------------


def test_a_quiet_recording_asks_for_no_stats_unless_a_stats_file_reads_them(tmp_path: Path) -> None:
    quiet = QuietDisplay()
    assert not reads_stats(quiet)
    assert not reads_stats(TeeDisplay(quiet, WarningTally()))
    assert reads_stats(TeeDisplay(quiet, StatsFileWriter(tmp_path / "stats.json", video=None), WarningTally()))
    assert reads_stats(TeeDisplay(PlainDisplay(Console(file=io.StringIO())), WarningTally()))
    assert reads_stats(LiveDisplay(Console(file=io.StringIO(), force_terminal=True)))


class _Recording:
    """A display that records what it was sent and when it was entered and left."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def __enter__(self) -> _Recording:
        self.events.append("enter")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.events.append("exit")

    def update(self, stats: RecordingStats) -> None:
        self.events.append("update")

    def warn(self, text: str) -> None:
        self.events.append(f"warn {text}")


def test_a_deferred_display_is_made_once_at_the_first_report_from_any_thread() -> None:
    made: list[_Recording] = []
    start = threading.Barrier(8)

    def make() -> _Recording:
        made.append(_Recording())
        return made[-1]

    deferred = DeferredDisplay(make)

    def report(index: int) -> None:
        start.wait()
        if index % 2:
            deferred.warn("w")
        else:
            deferred.update(make_stats())

    with deferred:
        assert made == [] and not deferred.made  # entering makes nothing: FFmpeg is not started yet
        threads = [threading.Thread(target=report, args=(index,)) for index in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(made) == 1 and deferred.made
    events = made[0].events
    assert events[0] == "enter" and events[-1] == "exit"
    assert sorted(events[1:-1]) == ["update"] * 4 + ["warn w"] * 4


def test_a_deferred_display_never_used_is_never_made_and_none_is_made_after_exit() -> None:
    made: list[_Recording] = []
    deferred = DeferredDisplay(lambda: made.append(_Recording()) or made[-1])
    with deferred:
        pass
    deferred.warn("late")  # a warning from FFmpeg's reader after the recording ended
    assert made == []
