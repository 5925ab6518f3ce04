"""``render = true`` in a batch plan: render a studio capture's bundle right after it is recorded."""

from __future__ import annotations

from pathlib import Path

from caprec.boundary import describe
from caprec.capture.errors import CaptureError
from caprec.capture.render.spec import RenderSpec
from caprec.exit import ExitStatus, exit_status_for
from caprec.ui.reports import JsonObject


def render_after_capture(summary: JsonObject, *, bundle: Path | None, output: Path, ffmpeg_path: str) -> JsonObject:
    """``summary`` with a ``render`` entry (output, status, frames, duration, error); a failed render fails the capture.

    The render takes every default (auto zoom, mellow smoothing, click rings); nothing is overwritten.
    """
    from caprec.capture.render.renderer import plan_render, render

    entry: JsonObject = {"output": str(output), "status": "failed", "frames": None, "duration_s": None,
                         "error": None}
    if bundle is None:
        entry["error"] = "the capture wrote no bundle"
        return {**summary, "render": entry, "exit_code": int(ExitStatus.ERROR)}
    try:
        result = render(plan_render(RenderSpec(bundle=bundle, output=output), ffmpeg_path=ffmpeg_path),
                        ffmpeg_path=ffmpeg_path)
    except CaptureError as exc:
        entry["error"] = describe(exc)
        return {**summary, "render": entry, "exit_code": int(exit_status_for(exc))}
    entry.update(status="complete", frames=result.media.frames, duration_s=round(result.media.duration_s, 3))
    return {**summary, "render": entry}


def render_note(summary: JsonObject) -> str:
    """``; rendered talk.mp4 (150 frames)`` or ``; render failed: why`` for the capture's end line."""
    entry = summary.get("render")
    if not isinstance(entry, dict):
        return ""
    if entry["status"] == "complete":
        return f"; rendered {entry['output']} ({entry['frames']} frames)"
    return f"; render failed: {entry['error']}"
