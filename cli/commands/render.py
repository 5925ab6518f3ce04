"""``caprec render``: turn a studio bundle into a finished video (smooth cursor, clicks, zoom, GIF)."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from caprec.boundary import describe, error_console, run_guarded
from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.binary import find_ffmpeg
from caprec.capture.render.spec import (
    MAX_ZOOM_SCALE,
    CardStyle,
    ClickEffect,
    RenderInputError,
    RenderSpec,
    Smoothing,
    Trim,
    ZoomMode,
)
from caprec.capture.units import format_duration, parse_duration
from caprec.commands.devices import resolve_tool_settings
from caprec.env import Environment
from caprec.exit import ExitStatus
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

if TYPE_CHECKING:  # the engine (numpy) loads only when rendering: `caprec --help` stays fast
    from caprec.capture.render.pipeline import PipelineProgress
    from caprec.capture.render.renderer import RenderPlan, RenderResult

# Off a terminal, a progress line at most this often.
PLAIN_PROGRESS_S = 2.0
MAX_CRF = 63
MAX_CURSOR_SIZE = 10.0
EXAMPLES = """
Examples:

  caprec render talk.caprec -o talk.mp4

  caprec render talk.caprec -o talk.gif --width 640 --fps 15

  caprec render talk.caprec --dry-run > zoom.toml   # then edit, and: --zoom zoom.toml
"""


def _seconds(text: str, origin: str) -> float:
    return 0.0 if text.strip() in ("0", "0.0", "") else parse_duration(text, origin=origin)


def parse_trim(text: str) -> Trim:
    """``START-END`` (either may be empty: ``-10`` or ``5-``) in seconds or clock times."""
    start, sep, end = text.partition("-")
    if not sep:
        raise SettingError("--trim", f"{text!r} is not START-END; use e.g. 2-10, 1m-1m30s or 5-")
    first = _seconds(start, "--trim")
    last = None if not end.strip() else _seconds(end, "--trim")
    if last is not None and last <= first:
        raise SettingError("--trim", f"{text!r} ends before it starts; give START-END with END after START")
    return Trim(first, last)


def _even(value: int | None, origin: str) -> int | None:
    if value is not None and (value < 16 or value % 2):
        raise SettingError(origin, f"{value} must be an even number of pixels, at least 16")
    return value


def build_spec(bundle: Path, *, output: Path | None, overwrite: bool, fps: float | None, width: int | None,
               height: int | None, crf: int | None, smoothing: str, cursor_size: float, clicks: str,
               hide_idle: float | None, zoom: str, zoom_scale: float, trim: str | None, preset: str,
               padding: int = 0, background: str | None = None, corner_radius: int = 0,
               shadow: bool = False, cursor_image: str = "recorded") -> RenderSpec:
    """Flags to a :class:`RenderSpec`; raises :class:`SettingError` naming the flag."""
    def choice(kind: type[Any], value: str, origin: str) -> Any:
        try:
            return kind(value)
        except ValueError:
            names = "|".join(member.value for member in kind)
            raise SettingError(origin, f"{value!r} is not one of {names}") from None

    if not 1.0 <= zoom_scale <= MAX_ZOOM_SCALE:
        raise SettingError("--zoom-scale", f"{zoom_scale:g} is out of range; use 1 to {MAX_ZOOM_SCALE:g}")
    if not 0.1 <= cursor_size <= MAX_CURSOR_SIZE:
        raise SettingError("--cursor-size", f"{cursor_size:g} is out of range; use 0.1 to {MAX_CURSOR_SIZE:g}")
    if fps is not None and not 1.0 <= fps <= 240.0:
        raise SettingError("--fps", f"{fps:g} is out of range; use 1 to 240")
    if crf is not None and not 0 <= crf <= MAX_CRF:
        raise SettingError("--crf", f"{crf} is out of range; use 0 to {MAX_CRF}")
    if hide_idle is not None and hide_idle < 0:
        raise SettingError("--hide-idle", "must be 0 seconds or more")
    from caprec.capture.render.card import parse_colour
    from caprec.capture.render.zoom import load_edit_list

    if cursor_image not in ("recorded", "arrow"):
        raise SettingError("--cursor-image", f"{cursor_image!r} is not one of recorded|arrow")
    for value, origin in ((padding, "--padding"), (corner_radius, "--corner-radius")):
        if value < 0:
            raise SettingError(origin, f"{value} must be 0 or more pixels")
    card = None
    if padding or background is not None or corner_radius or shadow:
        card = CardStyle(padding=padding, corner_radius=corner_radius, shadow=shadow,
                         **({} if background is None else {"background": parse_colour(background)}))
    zoom_mode = ZoomMode.FILE if zoom not in ("auto", "off") else ZoomMode(zoom)
    segments = load_edit_list(Path(zoom), default_scale=zoom_scale) if zoom_mode is ZoomMode.FILE else ()
    out = output if output is not None else bundle.with_suffix(".mp4")
    return RenderSpec(bundle=bundle, output=out, overwrite=overwrite, fps=fps, width=_even(width, "--width"),
                      height=_even(height, "--height"), crf=crf,
                      smoothing=choice(Smoothing, smoothing, "--cursor-smoothing"), cursor_size=cursor_size,
                      clicks=choice(ClickEffect, clicks, "--clicks"), hide_idle_s=hide_idle, zoom=zoom_mode,
                      zoom_scale=zoom_scale, zoom_segments=segments,
                      zoom_source=zoom if zoom_mode is ZoomMode.FILE else None,
                      trim=None if trim is None else parse_trim(trim), preset=preset, card=card,
                      recorded_shapes=cursor_image == "recorded")


def _image_text(plan: RenderPlan) -> str:
    shapes = plan.bundle.shapes
    if shapes is None or not plan.spec.recorded_shapes:
        return "caprec's arrow"
    return f"{len(shapes.images)} recorded image(s)"


def plan_text(plan: RenderPlan) -> str:
    """The dry run's plan: comments, then the zoom segments as an edit list ``--zoom FILE`` reads."""
    from caprec.capture.render.zoom import edit_list_toml

    spec = plan.spec
    lines = [
        f"# caprec render plan for {spec.bundle}",
        f"# output: {spec.output} ({spec.format}, {plan.size[0]}x{plan.size[1]} at {plan.fps:g} fps, "
        f"{plan.frames} frames, {format_duration(plan.duration_s)}"
        f"{', audio' if plan.audio else ''})",
        f"# source: {plan.source_size[0]}x{plan.source_size[1]}, {len(plan.bundle.segments)} segment(s), "
        f"from {plan.start_s:.3f} s",
        f"# cursor: {_image_text(plan)}, smoothing {spec.smoothing}, size {spec.cursor_size:g}, clicks {spec.clicks}, "
        f"hide idle {'off' if spec.hide_idle_s is None else f'{spec.hide_idle_s:g} s'}, "
        f"{len(plan.bundle.track.presses)} clicks logged",
        *([] if spec.card is None else [
            f"# card: padding {spec.card.padding}, background #{bytes(spec.card.background).hex()}, "
            f"corner radius {spec.card.corner_radius}, shadow {'on' if spec.card.shadow else 'off'}"]),
        f"# zoom: {spec.zoom}{' ' + str(spec.zoom_source) if spec.zoom_source else ''}, "
        f"{len(plan.zoom)} segment(s); times in seconds on the recording's timeline",
        *(f"# warning: {warning}" for warning in plan.warnings),
        "# edit the segments below and pass this file with --zoom FILE",
    ]
    return "\n".join(lines) + "\n" + edit_list_toml(plan.zoom)


def summary(result: RenderResult, wall_s: float) -> dict[str, Any]:
    """The ``--json`` summary."""
    plan, stats = result.plan, result.stats
    return {
        "output": str(result.path), "format": str(plan.spec.format), "width": plan.size[0], "height": plan.size[1],
        "fps": plan.fps, "frames": result.media.frames, "duration": round(result.media.duration_s, 3),
        "codec": result.media.codec, "audio": plan.audio,
        "speed": round(plan.duration_s / wall_s, 2) if wall_s > 0 else None,
        "zoom": [{"start": z.start, "end": z.end, "scale": z.scale} for z in plan.zoom],
        "warnings": list(plan.warnings),
        "timings": {"wall": round(wall_s, 3), "wait_decode": round(stats.wait_decode_s, 3),
                    "transform": round(stats.transform_s, 3), "wait_encode": round(stats.wait_encode_s, 3),
                    "decode_cpu": stats.decode_cpu_s, "encode_cpu": stats.encode_cpu_s},
    }


class _ProgressShow:
    """Frames done, speed (x realtime) and ETA: a rich bar on a terminal, a plain line now and then off one."""

    def __init__(self, console: Console, plan: RenderPlan, *, live: bool) -> None:
        self._console = console
        self._plan = plan
        self._live = live
        self._last_plain = 0.0
        self._bar = Progress(TextColumn("rendering"), BarColumn(), TaskProgressColumn(),
                             TextColumn("{task.completed}/{task.total} frames  {task.fields[speed]}"),
                             TimeRemainingColumn(), console=console, transient=True) if live else None
        self._task = self._bar.add_task("render", total=plan.frames, speed="") if self._bar is not None else None

    def __enter__(self) -> _ProgressShow:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, progress: PipelineProgress) -> None:
        speed = progress.frames / self._plan.fps / progress.elapsed_s if progress.elapsed_s > 0 else 0.0
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=progress.frames, speed=f"{speed:.2f}x")
            return
        if progress.elapsed_s - self._last_plain >= PLAIN_PROGRESS_S:
            self._last_plain = progress.elapsed_s
            left = max(0, self._plan.frames - progress.frames) / self._plan.fps / speed if speed else 0.0
            self._console.print(f"rendering: {progress.frames}/{self._plan.frames} frames, {speed:.2f}x realtime, "
                                f"ETA {format_duration(left)}", markup=False)


def render_command(
    bundle: Annotated[Path, typer.Argument(help="A studio bundle (caprec record --mode studio).",
                                           metavar="BUNDLE")],
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="OUT",
                                                help="Output: .mp4 (H.264), .webm (VP9) or .gif. "
                                                     "Default: BUNDLE with .mp4.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing OUT.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (zoom segments as an edit list) "
                                                            "and render nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")] = False,
    smoothing: Annotated[str, typer.Option("--cursor-smoothing", metavar="off|slow|smooth|mellow|fast",
                                           help="Spring smoothing of the cursor; off draws raw positions.")]
        = "mellow",
    cursor_size: Annotated[float, typer.Option("--cursor-size", metavar="X", help="Cursor size factor.")] = 1.0,
    cursor_image: Annotated[str, typer.Option("--cursor-image", metavar="recorded|arrow",
                                              help="The pointer's recorded images (X11 studio bundles) or "
                                                   "caprec's arrow.")] = "recorded",
    clicks: Annotated[str, typer.Option("--clicks", metavar="off|ring|shrink", help="Click effect.")] = "ring",
    hide_idle: Annotated[float | None, typer.Option("--hide-idle", metavar="SECONDS",
                                                    help="Fade the cursor out after this long without moving.")]
        = None,
    zoom: Annotated[str, typer.Option("--zoom", metavar="auto|off|FILE",
                                      help="auto: zoom in at clicks; off; or an edit list (TOML).")] = "auto",
    zoom_scale: Annotated[float, typer.Option("--zoom-scale", metavar="X", help="Zoom factor of auto zoom.")]
        = 2.0,
    trim: Annotated[str | None, typer.Option("--trim", metavar="START-END",
                                             help="Keep START-END of the recording (e.g. 2-10, 5-).")] = None,
    fps: Annotated[float | None, typer.Option("--fps", metavar="N", help="Frame rate. Default: the "
                                              "recording's (GIF: 15, 10-30).")] = None,
    width: Annotated[int | None, typer.Option("--width", metavar="PX", help="Width (even; aspect kept). "
                                              "Default: the recording's (GIF: 800).")] = None,
    height: Annotated[int | None, typer.Option("--height", metavar="PX", help="Height (even; aspect kept).")]
        = None,
    crf: Annotated[int | None, typer.Option("--crf", metavar="N", help="Quality (lower is better). Default: "
                                            "23 (mp4), 34 (webm).")] = None,
    preset: Annotated[str, typer.Option("--preset", help="libx264 preset.")] = "veryfast",
    padding: Annotated[int, typer.Option("--padding", metavar="PX", help="Show the screen as a card with this "
                                         "much background around it.")] = 0,
    background: Annotated[str | None, typer.Option("--background", metavar="COLOR",
                                                   help="The card's background: #rrggbb or black, white, grey, "
                                                        "navy, slate. Default: slate.")] = None,
    corner_radius: Annotated[int, typer.Option("--corner-radius", metavar="PX", help="Round the card's "
                                               "corners.")] = 0,
    shadow: Annotated[bool, typer.Option("--shadow", help="A soft shadow under the card.")] = False,
    ffmpeg_path: Annotated[str | None, typer.Option("--ffmpeg", metavar="PATH",
                                                    help="The ffmpeg binary. Default: as caprec record.")] = None,
) -> None:
    """Render a studio bundle: smoothed cursor, click effects, auto-zoom; MP4, WebM or GIF."""
    env = Environment()

    def body() -> int:
        from caprec.capture.render.renderer import plan_render, render

        console = error_console(env)
        try:
            spec = build_spec(bundle, output=output, overwrite=overwrite, fps=fps, width=width, height=height,
                              crf=crf, smoothing=smoothing, cursor_size=cursor_size, clicks=clicks,
                              hide_idle=hide_idle, zoom=zoom, zoom_scale=zoom_scale, trim=trim, preset=preset,
                              padding=padding, background=background, corner_radius=corner_radius, shadow=shadow,
                              cursor_image=cursor_image)
            tools = resolve_tool_settings(env, ffmpeg=ffmpeg_path)
            binary = find_ffmpeg(explicit=tools.ffmpeg, explicit_origin=tools.ffmpeg_origin)
            plan = plan_render(spec, ffmpeg_path=binary.path)
        except RenderInputError as exc:
            console.print(f"error: {describe(exc)}", markup=False, soft_wrap=True)
            return ExitStatus.USAGE
        if dry_run:
            env.stdout.write(plan_text(plan))
            return ExitStatus.OK
        if not quiet:
            for warning in plan.warnings:
                console.print(f"warning: {warning}", markup=False, soft_wrap=True)
        started = time.monotonic()
        try:
            with _cancel_on_signals(), _ProgressShow(console, plan, live=env.stderr_isatty and not quiet) as show:
                result = render(plan, ffmpeg_path=binary.path, on_progress=None if quiet else show.update)
        except KeyboardInterrupt:
            console.print(f"interrupted: {plan.spec.output} was not written", markup=False, soft_wrap=True)
            return ExitStatus.INTERRUPTED
        wall = time.monotonic() - started
        if as_json:
            env.stdout.write(json.dumps(summary(result, wall), sort_keys=True) + "\n")
        if not quiet:
            console.print(f"saved: {result.path}  ({result.media.frames} frames, "
                          f"{format_duration(result.media.duration_s)}, "
                          f"{plan.duration_s / wall:.2f}x realtime)", markup=False, soft_wrap=True)
        return ExitStatus.OK

    run_guarded(env, body)


# A render is cancelled by Ctrl-C, or by SIGTERM from a script (kill): both end it the same way.
CANCEL_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


@contextlib.contextmanager
def _cancel_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM cancel the render: KeyboardInterrupt, its FFmpegs killed, nothing left behind, 130.

    Set even when caprec started with SIGINT ignored (a script's background job: Python then installs no
    handler, and a Ctrl-C or ``kill -INT`` did nothing), as ``record`` does; SIGTERM's default ended caprec at
    once, leaving its FFmpegs running and the temporary file in place.
    """
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in CANCEL_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
