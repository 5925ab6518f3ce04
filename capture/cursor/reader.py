"""Reading cursor logs: the whole log, its events one at a time, or a summary.

Readers accept any 1.x log and tolerate a torn last line (a crash mid-write);
anything else that is not a cursor log raises :class:`CursorFormatError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from caprec.capture.cursor.format import CURSOR_FORMAT, CursorFormatError
from caprec.capture.errors import OutputError

__all__ = [
    "CursorLog",
    "CursorSummary",
    "iter_cursor_events",
    "read_cursor_log",
    "summarize_cursor_log",
]

_SUPPORTED_MAJOR = 1
_EVENT_TYPES = ("move", "click", "scroll")


@dataclass(frozen=True)
class CursorLog:
    """A whole cursor log in memory: its header, events and reader warnings."""

    header: dict[str, Any]
    events: list[dict[str, Any]]
    warnings: list[str]


@dataclass(frozen=True)
class CursorSummary:
    """Figures about a cursor log, computed in one streaming pass.

    ``duration_ms`` is the recording's duration when the caller knows it
    (the video's), else the ``t`` of the last event, which is also
    ``last_event_ms``. A click is a press and its release: ``clicks``
    counts presses; ``presses`` and ``releases`` count the raw ``click``
    events (a log cut mid-click has one more press). ``distance_px`` is the
    pointer's path length over all events' positions, in the header's ``unit``.
    """

    events: int
    moves: int
    clicks: int
    scrolls: int
    presses_by_button: dict[str, int]
    duration_ms: float
    distance_px: float
    warnings: list[str]
    presses: int = 0
    releases: int = 0
    last_event_ms: float = 0.0
    recording_duration_known: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the summary."""
        return asdict(self)


@dataclass
class _LogStream:
    """One streaming pass over a log: the header, then events on iteration.

    Needs one line of look-ahead to tell a torn last line (a crash mid-write:
    skipped with a warning) from a corrupt line in the middle (an error).
    """

    path: Path
    header: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def events(self) -> Iterator[dict[str, Any]]:
        with self.path.open("rb") as f:
            first = f.readline()
            self.header = _parse_header(self.path, first)
            bad_line: int | None = None
            bad_reason = ""
            last_t = -math.inf
            went_back = False
            for number, raw in enumerate(f, start=2):
                if bad_line is not None:
                    raise CursorFormatError(f"{self.path}: line {bad_line} is malformed ({bad_reason})")
                event, reason = _parse_event(raw)
                if event is None:
                    bad_line, bad_reason = number, reason
                    continue
                t = event["t"]
                if t < last_t and not went_back:
                    went_back = True
                    self.warnings.append(f"line {number}: t goes backwards ({t} after {last_t})")
                last_t = t
                yield event
            if bad_line is not None:
                self.warnings.append(
                    f"line {bad_line}: incomplete last line skipped ({bad_reason}); the recording was interrupted"
                )


def _parse_header(path: Path, line: bytes) -> dict[str, Any]:
    if not line:
        raise CursorFormatError(f"{path}: empty file, not a caprec cursor log")
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != CURSOR_FORMAT:
        hint = "" if line.endswith(b"\n") else " (or its header was cut short)"
        raise CursorFormatError(f"{path}: not a caprec cursor log{hint}")
    version = header.get("version")
    major_text, _, minor_text = str(version).partition(".")
    if not (isinstance(version, str) and major_text.isdigit() and minor_text.isdigit()):
        raise CursorFormatError(f"{path}: cursor log has a bad version {version!r} (expected major.minor)")
    if int(major_text) > _SUPPORTED_MAJOR:
        raise CursorFormatError(
            f"{path}: cursor log version {version} is newer than this caprec reads "
            f"({_SUPPORTED_MAJOR}.x); upgrade caprec"
        )
    return header


def _parse_event(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    if not raw.endswith(b"\n"):
        # Only a crash mid-write leaves a line without its newline; even if
        # the cut happens to leave valid JSON, the event may be incomplete.
        return None, "no newline at the end"
    try:
        event = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, or UnicodeDecodeError for bytes that are not UTF-8
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        return None, f"invalid JSON: {detail}"
    if not isinstance(event, dict):
        return None, "not a JSON object"
    t = event.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float):
        return None, "no numeric 't'"
    if not isinstance(event.get("type"), str):
        return None, "no 'type'"
    return event, ""


def read_cursor_log(path: Path) -> CursorLog:
    """Read a whole cursor log. Raises CursorFormatError with a one-line reason.

    A torn last line is skipped with a warning; unknown event types and
    fields (from newer minor versions) are kept as they are.
    """
    stream = _LogStream(path)
    events = list(stream.events())
    return CursorLog(header=stream.header, events=events, warnings=stream.warnings)


def iter_cursor_events(path: Path) -> Iterator[dict[str, Any]]:
    """Yield a cursor log's events one by one, in constant memory.

    The header is checked on the first ``next()``; errors are raised as
    CursorFormatError during iteration. A torn last line is skipped silently:
    use :func:`read_cursor_log` or :func:`summarize_cursor_log` to see warnings.
    """
    return _LogStream(path).events()


def summarize_cursor_log(path: Path, *, recording_ms: float | None = None) -> CursorSummary:
    """Count a cursor log's events in one streaming pass (memory flat in file size).

    ``recording_ms`` is the recording's duration when known (a bundle's
    manifest, the video beside the log). Raises :class:`OutputError` for
    a path that cannot be read, :class:`CursorFormatError` for a file that
    is not a cursor log.
    """
    try:
        return _summarize(path, recording_ms)
    except OSError as exc:
        raise OutputError(f"cannot read {path} ({exc.strerror or exc}); give a cursor log (*.cursor.ndjson) "
                          "or a studio bundle (*.caprec)") from None


def _summarize(path: Path, recording_ms: float | None) -> CursorSummary:
    stream = _LogStream(path)
    counts = dict.fromkeys(_EVENT_TYPES, 0)
    total = 0
    presses: dict[str, int] = {}
    releases = 0
    last_t = 0.0
    distance = 0.0
    prev: tuple[float, float] | None = None
    for event in stream.events():
        total += 1
        kind = event["type"]
        if kind in counts:
            counts[kind] += 1
        if kind == "click" and event.get("pressed") is True:
            button = str(event.get("button"))
            presses[button] = presses.get(button, 0) + 1
        elif kind == "click" and event.get("pressed") is False:
            releases += 1
        last_t = float(event["t"])
        x, y = event.get("x"), event.get("y")
        if isinstance(x, int | float) and isinstance(y, int | float):
            if prev is not None:
                distance += math.hypot(x - prev[0], y - prev[1])
            prev = (x, y)
    return CursorSummary(
        events=total,
        moves=counts["move"],
        clicks=sum(presses.values()),
        scrolls=counts["scroll"],
        presses_by_button=presses,
        duration_ms=last_t if recording_ms is None else recording_ms,
        distance_px=round(distance, 3),
        warnings=stream.warnings,
        presses=sum(presses.values()),
        releases=releases,
        last_event_ms=last_t,
        recording_duration_known=recording_ms is not None,
    )


