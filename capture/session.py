"""A recording session: one or more segments (pause/resume), instant or studio.

(Work in progress by the lead: Mode is defined here first so that planning
code can import it.)
"""

from __future__ import annotations

import enum


class Mode(enum.StrEnum):
    """``instant``: one shareable MP4, pointer drawn in. ``studio``: a bundle
    directory with separate tracks per segment, pointer hidden, for editing."""

    INSTANT = "instant"
    STUDIO = "studio"


STUDIO_SUFFIX = ".caprec"
MANIFEST_NAME = "recording.toml"
CURSOR_NAME = "cursor.ndjson"
SEGMENTS_DIR = "segments"
DISPLAY_NAME = "display.mp4"
AUDIO_NAME = "audio.m4a"
