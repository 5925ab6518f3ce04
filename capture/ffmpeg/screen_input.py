"""The screen's FFmpeg input on each platform (or the synthetic test pattern), with its crop and camera.

ffmpeg-python is imported by each builder, not with this module (see :mod:`caprec.capture.ffmpeg.argv`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from caprec.capture.ffmpeg.camera_input import CameraSource, with_camera
from caprec.capture.ffmpeg.nodes import even_crop, fps_text, queue_options
from caprec.capture.units import Region

DEFAULT_FPS = 30.0
DEFAULT_TEST_SIZE = "1280x720"
# avfoundation numbers screens after the cameras, so an index names a camera on
# a Mac with one; it also matches a device by name, and screens are named.
AVFOUNDATION_DEFAULT_SCREEN = "Capture screen 0"


class Backend(enum.StrEnum):
    """FFmpeg's capture input for a platform, or the synthetic test pattern."""

    X11GRAB = "x11grab"
    AVFOUNDATION = "avfoundation"
    GDIGRAB = "gdigrab"
    DDAGRAB = "ddagrab"
    LAVFI = "lavfi"


@dataclass(frozen=True)
class VideoSource:
    """What to capture.

    ``device`` is backend-specific: the X display (``:0.0``) for x11grab, the
    screen device for avfoundation (``Capture screen 0``, by name), the
    window (``desktop`` or ``title=...``) for gdigrab, the output index for
    ddagrab, the pattern size (``1280x720``) for lavfi.
    """

    backend: Backend
    fps: float = DEFAULT_FPS
    device: str = ""
    region: Region | None = None
    draw_mouse: bool = True
    # lavfi runs as fast as it can unless paced; -re makes 5 s take 5 s.
    realtime: bool = True
    queue_size: int | None = None
    #: x11grab: the X window to record (``-window_id``); its size is the video's.
    window_id: int | None = None
    #: x11grab: the region (its size) follows the pointer (``-follow_mouse centered``).
    follow_mouse: bool = False
    #: A camera picture overlaid in a corner.
    camera: CameraSource | None = None


def source_stream(source: VideoSource, *, draw_camera: bool = True) -> Any:
    """The ffmpeg-python stream for ``source``: an input node plus filters (and the camera drawn over it,
    unless ``draw_camera`` is False: a studio bundle records the camera as its own track)."""
    screen = _screen_stream(source)
    if not draw_camera:
        return screen
    return with_camera(screen, source.camera, fps=source.fps, queue=queue_options(source.queue_size))


def _screen_stream(source: VideoSource) -> Any:
    """The screen (or test pattern) input with its crop, without the camera."""
    import ffmpeg  # lazy: see the module docstring
    fps = fps_text(source.fps)
    queue = queue_options(source.queue_size)
    region = source.region
    if source.backend is Backend.LAVFI:
        size = source.device or DEFAULT_TEST_SIZE
        extra: dict[str, Any] = {"re": None} if source.realtime else {}
        return ffmpeg.input(f"testsrc2=size={size}:rate={fps}", f="lavfi", **extra, **queue)
    if source.backend is Backend.X11GRAB:
        display = source.device or ":0.0"
        # x11grab stamps frames at exactly -framerate: nothing to estimate. Without
        # -fpsprobesize 0, FFmpeg reads frames to guess the rate (which delays the
        # start) and warns "not enough frames to estimate rate" on every recording.
        opts: dict[str, Any] = {"framerate": fps, "draw_mouse": int(source.draw_mouse), "fpsprobesize": 0, **queue}
        if source.window_id is not None:
            opts["window_id"] = hex(source.window_id)
        if source.follow_mouse:
            opts["follow_mouse"] = "centered"
        if region is None:
            return even_crop(ffmpeg.input(display, f="x11grab", **opts))
        return ffmpeg.input(f"{display}+{region.x},{region.y}", f="x11grab",
                            video_size=(region.width, region.height), **opts)
    if source.backend is Backend.AVFOUNDATION:
        # "<video>:<audio>"; audio is a separate input (none here). Screens
        # are captured whole, so the region is a crop filter.
        stream = ffmpeg.input(f"{source.device or AVFOUNDATION_DEFAULT_SCREEN}:none", f="avfoundation",
                              framerate=fps,
                              capture_cursor=int(source.draw_mouse), capture_mouse_clicks=0,
                              pixel_format="uyvy422", **queue)
        if region is None:
            return even_crop(stream)
        return stream.filter("crop", region.width, region.height, region.x, region.y)
    if source.backend is Backend.GDIGRAB:
        opts = {"framerate": fps, "draw_mouse": int(source.draw_mouse), **queue}
        if region is not None:
            opts.update(offset_x=region.x, offset_y=region.y, video_size=(region.width, region.height))
        stream = ffmpeg.input(source.device or "desktop", f="gdigrab", **opts)
        return stream if region is not None else even_crop(stream)
    if source.backend is Backend.DDAGRAB:
        # ddagrab is a lavfi source that yields D3D11 frames: CPU encoders
        # need them downloaded to system memory first.
        args = [f"output_idx={source.device or '0'}", f"framerate={fps}",
                f"draw_mouse={int(source.draw_mouse)}"]
        if region is not None:
            args += [f"video_size={region.size}", f"offset_x={region.x}", f"offset_y={region.y}"]
        stream = ffmpeg.input("ddagrab=" + ":".join(args), f="lavfi", **queue)
        return stream.filter("hwdownload").filter("format", "bgra")
    raise AssertionError(f"unhandled backend {source.backend}")  # pragma: no cover
