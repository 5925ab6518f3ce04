"""What to render: :class:`RenderSpec`, typed and validated by the caller."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from caprec.capture.errors import CaptureError

DEFAULT_GIF_WIDTH = 800
GIF_FPS_RANGE = (10.0, 30.0)
DEFAULT_GIF_FPS = 15.0
DEFAULT_ZOOM_SCALE = 2.0
MAX_ZOOM_SCALE = 10.0
DEFAULT_CRF = {"mp4": 23, "webm": 34}


class Smoothing(enum.StrEnum):
    """The cursor smoothing presets (Cap's springs, see :mod:`caprec.capture.render.spring`); ``off`` draws the raw
    positions."""

    OFF = "off"
    SLOW = "slow"
    SMOOTH = "smooth"
    MELLOW = "mellow"
    FAST = "fast"


class RenderInputError(CaptureError):
    """The bundle, an edit list or a render setting cannot be used; nothing was written.

    ``field`` names the culprit (a spec field, a file); the message says the fix.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class RenderFailedError(CaptureError):
    """FFmpeg failed while rendering; the output was not created."""


class OutputFormat(enum.StrEnum):
    """The container, chosen by the output's extension."""

    MP4 = "mp4"
    WEBM = "webm"
    GIF = "gif"

    @classmethod
    def for_path(cls, path: Path) -> OutputFormat:
        suffix = path.suffix.lower().lstrip(".")
        try:
            return cls(suffix)
        except ValueError:
            raise RenderInputError("output", f"{path}: unknown extension {path.suffix or '(none)'!r}; "
                                             "use .mp4, .webm or .gif") from None


class ClickEffect(enum.StrEnum):
    """How a click shows: not at all, an expanding ring, or the cursor shrinking briefly."""

    OFF = "off"
    RING = "ring"
    SHRINK = "shrink"


class ZoomMode(enum.StrEnum):
    """``auto``: zoom segments from clicks; ``off``: none; ``file``: an edit list."""

    AUTO = "auto"
    OFF = "off"
    FILE = "file"


@dataclass(frozen=True)
class ZoomSegment:
    """Zoom in to ``scale`` from ``start`` to ``end`` seconds (output timeline).

    ``centre`` is a fixed point (normalised 0-1 of the source frame) or None
    to follow the cursor; ``transition`` is the ease in and out, in seconds.
    """

    start: float
    end: float
    scale: float
    centre: tuple[float, float] | None = None
    transition: float | None = None


@dataclass(frozen=True)
class Trim:
    """Keep ``start`` to ``end`` seconds of the joined timeline (``end`` None: to the end)."""

    start: float
    end: float | None


@dataclass(frozen=True)
class CardStyle:
    """The screen as a card: ``padding`` output pixels around it on ``background`` (RGB),
    ``corner_radius`` pixels of rounding, an optional soft ``shadow``."""

    padding: int = 0
    background: tuple[int, int, int] = (32, 35, 42)
    corner_radius: int = 0
    shadow: bool = False


@dataclass(frozen=True)
class RenderSpec:
    """Everything one render needs, resolved by the caller.

    ``width``/``height`` None keep the aspect (GIF: 800 wide by default);
    ``fps`` None keeps the recording's (GIF: 15); ``zoom_segments`` is the
    edit list when ``zoom`` is ``file``.
    """

    bundle: Path
    output: Path
    overwrite: bool = False
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    crf: int | None = None
    smoothing: Smoothing = Smoothing.MELLOW
    cursor_size: float = 1.0
    clicks: ClickEffect = ClickEffect.RING
    hide_idle_s: float | None = None
    zoom: ZoomMode = ZoomMode.AUTO
    zoom_scale: float = DEFAULT_ZOOM_SCALE
    zoom_segments: tuple[ZoomSegment, ...] = ()
    zoom_source: str | None = None  # the edit list's name, for messages
    trim: Trim | None = None
    preset: str = "veryfast"
    card: CardStyle | None = None
    recorded_shapes: bool = True  # draw the pointer's recorded images when the bundle has them

    @property
    def format(self) -> OutputFormat:
        return OutputFormat.for_path(self.output)
