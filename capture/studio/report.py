"""What ``caprec recover`` found and did: one report per file, the cursor log's, the whole recovery's."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from caprec.capture.errors import CaptureError

RECOVER_SCHEMA = "caprec-recover/1"


class NothingPlayableError(CaptureError):
    """No file of the recording holds a playable video frame: nothing to recover (exit code 1)."""


class Action(enum.StrEnum):
    """What :func:`recover` did to one file."""

    REMUXED = "remuxed"  # rewritten with the index first (was fragmented)
    JOINED = "joined"  # a part, joined into the output and then deleted
    KEPT = "kept"  # already finished, left as it was
    DROPPED = "dropped"  # no playable frame: left on disk, not part of the result
    FAILED = "failed"  # playable, but the rewrite failed: left as it was


@dataclass(frozen=True)
class FileReport:
    """One file of the recording and what happened to it."""

    path: Path
    action: Action
    frames: int
    duration_s: float
    index: int | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["path"] = str(self.path.absolute())
        data["action"] = str(self.action)
        return data


@dataclass(frozen=True)
class CursorReport:
    """The cursor log beside the recording, read back."""

    path: Path
    events: int
    torn_line_removed: bool
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"path": str(self.path.absolute()), "events": self.events,
                "torn_line_removed": self.torn_line_removed, "warnings": list(self.warnings)}


@dataclass(frozen=True)
class RecoveryReport:
    """What :func:`recover` found and did.

    ``recovered`` is False when everything was finished already (nothing to
    do). ``frames`` and ``duration_s`` cover the files that make up the
    recording now.
    """

    path: Path
    kind: str  # "instant" or "studio"
    recovered: bool
    files: tuple[FileReport, ...]
    frames: int
    duration_s: float
    cursor: CursorReport | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The ``caprec-recover/1`` JSON object."""
        return {
            "schema": RECOVER_SCHEMA,
            "status": "recovered" if self.recovered else "nothing-to-do",
            "path": str(self.path.absolute()),
            "kind": self.kind,
            "frames": self.frames,
            "duration_s": round(self.duration_s, 6),
            "files": [item.to_dict() for item in self.files],
            "cursor": None if self.cursor is None else self.cursor.to_dict(),
            "notes": list(self.notes),
        }
