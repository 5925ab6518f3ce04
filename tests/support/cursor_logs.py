"""Cursor logs written by hand: a header and events in caprec's format, with a torn tail when asked.

Positions are in a 100x100 region, so ``nx``/``ny`` are ``x/100``/``y/100``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from caprec.capture.cursor.format import CURSOR_FORMAT

WALL = 1_700_000_000.0
"""The header's ``first_frame_wall`` (2023-11-14T22:13:20Z)."""


def header(**overrides: Any) -> dict[str, Any]:
    """A version 1.0 header of a lavfi recording at 30 fps; ``overrides`` replace or add fields."""
    base: dict[str, Any] = {
        "format": CURSOR_FORMAT,
        "version": "1.0",
        "caprec_version": "0.1.0",
        "source": "lavfi",
        "region": {"x": 0, "y": 0, "width": 100, "height": 100},
        "screen": None,
        "unit": "pixels",
        "scale": None,
        "fps": 30.0,
        "first_frame_wall": WALL,
        "first_frame_utc": "2023-11-14T22:13:20.000Z",
        "flush_interval": 1.0,
    }
    base.update(overrides)
    return base


def write_log(path: Path, head: dict[str, Any], events: list[dict[str, Any]], tail: bytes = b"") -> Path:
    """Write ``head`` and ``events`` one JSON object a line, then the raw bytes ``tail`` (e.g. a torn line)."""
    lines = [json.dumps(head, separators=(",", ":"))] + [json.dumps(e, separators=(",", ":")) for e in events]
    path.write_bytes(("\n".join(lines) + "\n").encode() + tail)
    return path


def move(t: float, x: float, y: float) -> dict[str, Any]:
    """A move event at ``t`` milliseconds."""
    return {"t": t, "type": "move", "x": x, "y": y, "nx": x / 100, "ny": y / 100}


def click(t: float, button: str, pressed: bool, x: float = 0, y: float = 0) -> dict[str, Any]:
    """A press (``pressed``) or release of ``button`` at ``t`` milliseconds."""
    return {"t": t, "type": "click", "x": x, "y": y, "nx": x / 100, "ny": y / 100, "button": button, "pressed": pressed}
