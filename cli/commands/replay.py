"""``caprec record --replay 30s``: keep the last N seconds in memory, save them on request.

Nothing is written until a save: the ``s`` key, SIGUSR2, or ``caprec save``
(which finds this process by its runtime file). Each save prints the clip's
path on stdout (one line, for scripts). Ctrl-C stops without saving unless
``--save-on-exit``. Pause does not exist here: space/p do nothing and
SIGUSR1 is ignored (a paused replay buffer would hold a gap, and a resumed
FFmpeg a new timeline).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from caprec.boundary import describe, error_console
from caprec.capture.errors import OutputError, SettingError
from caprec.capture.record.segment import Recorder, StopControl
from caprec.capture.record.spec import Mode
from caprec.capture.replay.ring import DEFAULT_MAX_MEMORY
from caprec.capture.replay.runtime import SAVE_SIGNAL, RuntimeFile, runtime_dir
from caprec.capture.replay.save import CLIP_SUFFIX, CURSOR_SUFFIX, DEFAULT_CLIP_NAME, ClipPattern, SavedClip
from caprec.capture.replay.session import ReplayResult, ReplaySession, ReplaySpec, SaveControl, SaveOutcome
from caprec.capture.units import format_bytes, parse_byte_size, parse_duration
from caprec.commands.plan import RecordPlan, plan_argv, resolve_plan
from caprec.commands.run import PAUSE_SIGNAL, stop_on_signals, use_display
from caprec.env import Environment
from caprec.exit import ExitStatus, exit_status_for
from caprec.settings import schema as opt
from caprec.ui.countdown import countdown
from caprec.ui.display import make_display
from caprec.ui.feeds import TeeDisplay
from caprec.ui.keys import pause_keys
from rich.console import Console

SAVE_KEYS = b"sS"
MIN_REPLAY_MEMORY = 1024 * 1024
MAX_REPLAY_MEMORY = 64 * 1024**3


def parse_replay(text: str) -> float:
    """``--replay`` seconds: a duration above zero (``30``, ``30s``, ``2m``)."""
    return parse_duration(text, origin="--replay")


def parse_replay_memory(text: str | None) -> int:
    """``--replay-max-memory`` in bytes (default 512 MiB)."""
    if text is None:
        return DEFAULT_MAX_MEMORY
    return parse_byte_size(text, origin="--replay-max-memory", minimum=MIN_REPLAY_MEMORY, maximum=MAX_REPLAY_MEMORY)


def clip_pattern(output: str | None, *, output_dir: Path | None) -> ClipPattern:
    """Where clips go: ``-o DIR`` (an existing directory), ``-o [DIR/]NAME[.mp4]``, else ``--output-dir``.

    Raises an error naming the culprit for stdout, another container, a missing or unwritable directory.
    """
    if output == "-":
        raise SettingError("--replay", "a replay buffer saves clips to files and cannot stream to stdout; "
                                       "drop -o - (use -o DIR or -o NAME)")
    if output is None:
        pattern = ClipPattern(output_dir if output_dir is not None else Path(), DEFAULT_CLIP_NAME)
    else:
        path = Path(output)
        if path.is_dir() or output.endswith(("/", "\\")):
            pattern = ClipPattern(path, DEFAULT_CLIP_NAME)
        else:
            suffix = path.suffix.lower()
            if suffix and suffix != CLIP_SUFFIX:
                raise SettingError("--output", f"{output}: replay clips are MP4 files; use -o "
                                               f"{path.with_suffix(CLIP_SUFFIX)} or -o {path.parent / path.stem}")
            name = path.name[: -len(suffix)] if suffix else path.name
            if name in ("", ".", ".."):
                raise SettingError("--output", f"{output!r} names no clip; give a name such as game or DIR/game")
            pattern = ClipPattern(path.parent, name)
    directory = pattern.directory
    if not directory.is_dir():
        raise OutputError(f"directory {directory.absolute()} does not exist; create it first or choose another -o")
    if not _writable(directory):
        raise OutputError(f"directory {directory.absolute()} is not writable; choose another -o")
    return pattern


def _writable(directory: Path) -> bool:
    return os.access(directory, os.W_OK | os.X_OK)


def refuse_unsupported(*, json_output: bool, summary_file: Path | None, stats_file: Path | None) -> None:
    """Options a replay run does not have (yet): one line naming the flag."""
    for flag, given in (("--json", json_output), ("--summary-file", summary_file is not None),
                        ("--stats-file", stats_file is not None)):
        if given:
            raise SettingError(flag, "is not available with --replay; each save prints its path on stdout instead")


def replay_plan(*, env: Environment, replay: str, max_memory: str | None, output: str | None,
                save_on_exit: bool, plan_args: dict[str, Any]) -> tuple[RecordPlan, ReplaySpec]:
    """Check the replay options, resolve the recording's settings, and build the engine's spec."""
    window = parse_replay(replay)
    max_bytes = parse_replay_memory(max_memory)
    if output == "-":
        clip_pattern(output, output_dir=None)  # raises the one-line error
    plan = resolve_plan(env=env, output=None, **plan_args)
    if plan.mode is Mode.STUDIO:
        culprit = plan.settings.culprit(opt.MODE) if plan.settings is not None else "--mode"
        raise SettingError(culprit, "studio mode is not available with --replay (clips are instant MP4s with the "
                                    "pointer drawn in); use --mode instant")
    output_dir = plan.settings.get(opt.OUTPUT_DIR) if plan.settings is not None else None
    pattern = clip_pattern(output, output_dir=output_dir)
    cursor = plan.cursor
    if cursor is not None:
        # Never created: the cursor log lives in a ring; each save writes its slice beside the clip.
        cursor = replace(cursor, path=pattern.directory / f"{pattern.name}{CURSOR_SUFFIX}")
    spec = ReplaySpec(source=plan.source, encoding=plan.encoding, window_s=window, pattern=pattern,
                      max_bytes=max_bytes, audio=plan.audio, queue_size=plan.queue_size, cursor=cursor,
                      save_on_exit=save_on_exit)
    return plan, spec


def record_replay(*, env: Environment, replay: str | None, max_memory: str | None, save_on_exit: bool,
                  output: str | None, dry_run: bool, quiet: bool, json_output: bool, summary_file: Path | None,
                  stats_file: Path | None, plan_args: dict[str, Any]) -> int:
    """``caprec record --replay``: check, plan, then run (or print the plan with ``--dry-run``)."""
    if replay is None:
        flag = "--save-on-exit" if save_on_exit else "--replay-max-memory"
        raise SettingError(flag, "only applies to a replay buffer; add --replay 30s (or drop it)")
    refuse_unsupported(json_output=json_output, summary_file=summary_file, stats_file=stats_file)
    plan, spec = replay_plan(env=env, replay=replay, max_memory=max_memory, output=output,
                             save_on_exit=save_on_exit, plan_args={**plan_args, "quiet": quiet, "dry_run": dry_run})
    if dry_run:
        env.stdout.write(replay_dry_run_text(plan, spec))
        return ExitStatus.OK
    return run_replay(env=env, plan=plan, spec=spec, quiet=quiet)


def replay_dry_run_text(plan: RecordPlan, spec: ReplaySpec) -> str:
    """What ``--dry-run`` prints with ``--replay``: the FFmpeg command and where its output goes."""
    lines = [shlex.join(plan_argv(plan)),
             f"# pipe:1 -> replay buffer in memory: the last {spec.window_s:g} s, at most "
             f"{format_bytes(spec.max_bytes)}",
             f"# each save -> {spec.pattern.directory.absolute() / Path(str(spec.pattern)).name}"]
    if spec.cursor is not None:
        lines.append("# cursor log -> a ring in memory; each save writes <clip>.cursor.ndjson")
    return "\n".join(lines) + "\n"


def saved_text(clip: SavedClip, *, window: float, max_bytes: int) -> str:
    """``saved: PATH (10.4 s)``, saying why a clip is shorter than asked when it is."""
    held = f"{clip.duration_s:.1f} s"
    if clip.memory_limited:
        held += (f" of the {window:g} s asked: --replay-max-memory {format_bytes(max_bytes)} holds only that; "
                 "raise it for longer clips")
    elif clip.short:
        held += ": everything recorded so far"
    cursor = f"; cursor log {clip.cursor}" if clip.cursor is not None else ""
    return f"saved: {clip.path} ({held}){cursor}"


@contextlib.contextmanager
def save_on_signal(saves: SaveControl) -> Iterator[None]:
    """SIGUSR2 asks for a save; SIGUSR1 (pause elsewhere) is ignored, not fatal."""
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: object) -> None:
        saves.request()

    if SAVE_SIGNAL is not None:
        previous[SAVE_SIGNAL] = signal.signal(SAVE_SIGNAL, handler)
    if PAUSE_SIGNAL is not None:
        previous[PAUSE_SIGNAL] = signal.signal(PAUSE_SIGNAL, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_replay(*, env: Environment, plan: RecordPlan, spec: ReplaySpec, quiet: bool) -> int:
    """Run the replay buffer until stopped; returns the exit code."""
    console = error_console(env)
    stop = StopControl()
    saves = SaveControl()
    runtime = RuntimeFile(pattern=str(spec.pattern), seconds=spec.window_s, directory=runtime_dir(env.environ))
    stdout_is_terminal = bool(getattr(env.stdout, "isatty", lambda: False)())

    def on_saved(outcome: SaveOutcome) -> None:
        answer: dict[str, Any] = {"path": None, "error": None if outcome.error is None else describe(outcome.error)}
        if outcome.clip is not None:
            clip = outcome.clip
            answer = {"path": str(clip.path.absolute()), "error": None, "duration_s": clip.duration_s,
                      "cursor": None if clip.cursor is None else str(clip.cursor.absolute())}
            if not stdout_is_terminal:
                with contextlib.suppress(OSError, ValueError):  # a reader that went away must not stop the saves
                    env.stdout.write(f"{clip.path}\n")  # one line per clip, for scripts
                    env.stdout.flush()
            if not quiet or stdout_is_terminal:
                console.print(saved_text(clip, window=spec.window_s, max_bytes=spec.max_bytes),
                              markup=False, soft_wrap=True, highlight=False)
            if outcome.cursor_missing:
                console.print(f"warning: the cursor log of {clip.path} could not be written", markup=False,
                              soft_wrap=True)
        else:
            kind = "warning" if outcome.empty else "error: save failed"
            console.print(f"{kind}: {describe(str(outcome.error))}", markup=False, soft_wrap=True)
        runtime.answer(answer, taken_at=outcome.taken_at)

    with stop_on_signals(stop, pausable=False), save_on_signal(saves):
        if not countdown(plan.delay, console=console, quiet=quiet, stop=stop):
            return ExitStatus.INTERRUPTED
        with runtime:
            if not quiet:
                console.print(f"replay buffer: keeping the last {spec.window_s:g} s in memory (at most "
                              f"{format_bytes(spec.max_bytes)}); save with s, `kill -USR2 {runtime.pid}` or "
                              f"`caprec save`; Ctrl-C stops{' and saves' if spec.save_on_exit else ' without saving'}",
                              markup=False, soft_wrap=True, highlight=False)
            shown = make_display(console, quiet=quiet)
            use_display(plan)
            session = ReplaySession(Recorder(plan.ffmpeg, pipe_buffer=plan.pipe_buffer))
            with pause_keys(stop, actions=dict.fromkeys(SAVE_KEYS, saves.request)), TeeDisplay(shown) as both:
                result = session.run(spec, stop=stop, saves=saves, on_saved=on_saved, on_stats=both.update,
                                     on_warning=both.warn)
    return _report_end(console, result, spec=spec, stop=stop)


def _report_end(console: Console, result: ReplayResult, *, spec: ReplaySpec, stop: StopControl) -> int:
    recording = result.recording
    saved = sum(1 for outcome in result.saves if outcome.clip is not None)
    failed = sum(1 for outcome in result.saves if outcome.error is not None and not outcome.empty)
    if stop.requested and not spec.save_on_exit:
        console.print(f"stopped without saving at exit ({saved} clip{'s' if saved != 1 else ''} saved during the "
                      "run); --save-on-exit keeps the last seconds when you stop", markup=False, soft_wrap=True)
    for note in recording.notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)
    if recording.error is not None:
        console.print(f"error: {describe(recording.error)}", markup=False, soft_wrap=True)
        return exit_status_for(recording.error)
    return ExitStatus.ERROR if failed else ExitStatus.OK
