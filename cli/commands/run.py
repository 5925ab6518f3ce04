"""Running a :class:`~caprec.commands.plan.RecordPlan`: the engine session, signals, exit codes."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from caprec.capture.errors import CaptureError, OutputError
from caprec.capture.record.segment import Recorder, RecordingResult, Status, StopControl
from caprec.capture.record.session import Session
from caprec.capture.record.spec import Mode, SessionSpec
from caprec.commands.plan import RecordPlan, fd_is_terminal
from caprec.exit import ExitStatus, exit_status_for
from caprec.ui.feeds import DeferredDisplay, Display, QuietDisplay, TeeDisplay, WarningTally, reads_stats
from caprec.ui.reports import StatsFileWriter

if TYPE_CHECKING:
    from rich.console import Console

PAUSE_SIGNAL = getattr(signal, "SIGUSR1", None)
HANGUP_SIGNAL = getattr(signal, "SIGHUP", None)
# SIGBREAK: Ctrl-Break on Windows, which otherwise ends caprec at once (FFmpeg's file unfinished).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")
                     if hasattr(signal, name))


def use_display(plan: RecordPlan) -> None:
    """Point this process's ``$DISPLAY`` at the display whose pointer ``plan`` logs.

    pynput's X listener opens ``$DISPLAY`` and takes no display argument, so
    the command (which owns the process) sets it; the engine only checks it.
    """
    if plan.cursor is not None and plan.cursor.display is not None:
        os.environ["DISPLAY"] = plan.cursor.display


def session_spec(plan: RecordPlan) -> SessionSpec:
    """What the engine's session records for ``plan``."""
    return SessionSpec(mode=plan.mode, source=plan.source, encoding=plan.encoding, output=plan.target.path,
                       fd=plan.target.fd, overwrite=plan.target.overwrite, audio=plan.audio,
                       queue_size=plan.queue_size, cursor=plan.cursor)


def run_plan(plan: RecordPlan, *, console: Callable[[], Console], quiet: bool, stop: StopControl,
             display: Display | None = None, stats_file: Path | None = None, verbose: bool = False,
             warnings: WarningTally | None = None) -> RecordingResult:
    """Record ``plan`` with a live display; a recording that never started leaves no cursor log.

    ``console`` gives the console the display draws on, when it first draws;
    ``display`` replaces the one made for it (a batch shows its own);
    ``stats_file`` is kept current while recording and ends with the final status;
    ``warnings`` counts what the display is told; ``verbose`` adds the internals to the panel.
    """
    use_display(plan)
    session = Session(Recorder(plan.ffmpeg, pipe_buffer=plan.pipe_buffer))
    shown = display if display is not None else _display_for(plan, console=console, quiet=quiet, stop=stop,
                                                             verbose=verbose)
    video = str(plan.target.path.absolute()) if plan.target.path is not None else "-"
    stats = None if stats_file is None else StatsFileWriter(stats_file, video=video, on_error=shown.warn)
    extra = (*(() if stats is None else (stats,)), *(() if warnings is None else (warnings,)))
    try:
        with TeeDisplay(shown, *extra) as both:
            result = session.run(session_spec(plan), stop=stop, on_stats=both.update if reads_stats(both) else None,
                                 on_warning=both.warn)
    except CaptureError as exc:
        if plan.cursor is not None and plan.mode is Mode.INSTANT and not isinstance(exc, OutputError):
            plan.cursor.path.unlink(missing_ok=True)
        if stats is not None:
            stats.fail(exc)
        raise
    if stats is not None:
        stats.finish(result, exit_code=exit_code(result, stop))
    return result


def _display_for(plan: RecordPlan, *, console: Callable[[], Console], quiet: bool, stop: StopControl,
                 verbose: bool) -> Display:
    """The screen's display for one recording: nothing with ``quiet``, else the panel or plain lines.

    The drawing display (and rich with it) is made once the recorder reports,
    just after FFmpeg has been spawned: not before, where it would delay the
    first frame.
    """
    if quiet:
        return QuietDisplay()

    def make() -> Display:
        from caprec.ui.display import PanelOptions, make_display

        options = PanelOptions(stop=stop, pausable=plan.target.path is not None, cursor=plan.cursor is not None,
                               verbose=verbose)
        return make_display(console(), quiet=False, options=options)

    return DeferredDisplay(make)


@contextlib.contextmanager
def stop_on_signals(stop: StopControl, *, pausable: bool = True) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP ask the recording to stop (twice: stop fast);
    SIGUSR1 pauses and resumes it (POSIX), unless it cannot pause (``-o -``)."""
    terminals = [fd for fd in (1, 2) if fd_is_terminal(fd)]

    def handler(signum: int, frame: object) -> None:
        if signum == HANGUP_SIGNAL:
            _detach(terminals)
        stop.request()

    def toggle(signum: int, frame: object) -> None:
        stop.toggle_pause()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    if pausable and PAUSE_SIGNAL is not None:
        previous[PAUSE_SIGNAL] = signal.signal(PAUSE_SIGNAL, toggle)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _detach(fds: list[int]) -> None:
    """The terminal hung up (its window closed): send what would go to it to /dev/null.

    Writes to a hung-up terminal fail with EIO; the recording must still
    finish its file and its summary file, and exit with its code.
    """
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for fd in fds:
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)


def exit_code(result: RecordingResult, stop: StopControl) -> ExitStatus:
    if result.error is not None:
        return exit_status_for(result.error)
    if result.status is Status.INTERRUPTED:
        return ExitStatus.INTERRUPTED
    if stop.requested and result.stop_reason == "user" and result.stats.duration_s is not None:
        return ExitStatus.INTERRUPTED  # ended before the --duration it was asked for
    return ExitStatus.OK
