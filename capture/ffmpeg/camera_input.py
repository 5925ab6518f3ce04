"""The camera's FFmpeg input: its own track in a studio bundle, or a picture drawn in a corner of the screen.

ffmpeg-python is imported by each builder, not with this module (see :mod:`caprec.capture.ffmpeg.argv`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from caprec.capture.ffmpeg.nodes import fps_text


class CameraBackend(enum.StrEnum):
    """FFmpeg's camera input, or a synthetic test picture."""

    V4L2 = "v4l2"
    AVFOUNDATION = "avfoundation"
    DSHOW = "dshow"
    TEST = "test"  # lavfi testsrc


class Corner(enum.StrEnum):
    """Where the camera picture sits on the screen recording."""

    TOP_LEFT = "top-left"
    TOP_RIGHT = "top-right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM_RIGHT = "bottom-right"


DEFAULT_CAMERA_WIDTH = 320
CAMERA_MARGIN = 16
CAMERA_TEST_SIZE = "640x480"


@dataclass(frozen=True)
class CameraSource:
    """A camera drawn over the screen recording: its input, its width on the video and its corner."""

    backend: CameraBackend
    device: str = ""
    width: int = DEFAULT_CAMERA_WIDTH
    corner: Corner = Corner.BOTTOM_RIGHT


def camera_input(camera: CameraSource, *, fps: float, queue: dict[str, Any]) -> Any:
    """The camera's input at its own size (a studio bundle's camera track)."""
    import ffmpeg  # lazy: see the module docstring
    rate = fps_text(fps)
    if camera.backend is CameraBackend.TEST:
        return ffmpeg.input(f"testsrc=size={CAMERA_TEST_SIZE}:rate={rate}", f="lavfi", re=None, **queue)
    if camera.backend is CameraBackend.V4L2:
        return ffmpeg.input(camera.device, f="v4l2", framerate=rate, **queue)
    if camera.backend is CameraBackend.AVFOUNDATION:
        return ffmpeg.input(f"{camera.device}:none", f="avfoundation", framerate=rate, **queue)
    return ffmpeg.input(f"video={camera.device}", f="dshow", **queue)


def camera_stream(camera: CameraSource, *, fps: float, queue: dict[str, Any]) -> Any:
    """The camera's input, scaled to its width (even height): the picture drawn in a corner."""
    return camera_input(camera, fps=fps, queue=queue).filter("scale", camera.width, -2)


def camera_corner_xy(corner: Corner, margin: int = CAMERA_MARGIN) -> tuple[str, str]:
    """The ``overlay`` filter's x and y expressions that put the picture in ``corner``."""
    right, bottom = corner in (Corner.TOP_RIGHT, Corner.BOTTOM_RIGHT), corner.value.startswith("bottom")
    x = f"main_w-overlay_w-{margin}" if right else str(margin)
    y = f"main_h-overlay_h-{margin}" if bottom else str(margin)
    return x, y


def with_camera(screen: Any, camera: CameraSource | None, *, fps: float, queue: dict[str, Any]) -> Any:
    """``screen`` with the camera (if any) drawn over it in its corner."""
    import ffmpeg  # lazy: see the module docstring
    if camera is None:
        return screen
    x, y = camera_corner_xy(camera.corner)
    return ffmpeg.overlay(screen, camera_stream(camera, fps=fps, queue=queue), x=x, y=y)
