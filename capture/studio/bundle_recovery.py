"""``caprec recover`` for a studio bundle: finish every file of every segment, then the manifest.

Each segment's screen, audio files (one per input) and camera are rewritten
in place (see :mod:`caprec.capture.studio.repair`); segments without a frame and
tracks without content leave the manifest (their files stay); the manifest
is marked ``complete`` with a ``recovered`` time.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from caprec.capture.errors import OutputError
from caprec.capture.ffmpeg.finish import MediaCheck, ffmpeg_file_url, verify_media
from caprec.capture.ffmpeg.process import run_tool
from caprec.capture.files.mp4boxes import read_layout
from caprec.capture.files.tempfiles import owned_temp
from caprec.capture.record.spec import CURSOR_NAME, MANIFEST_NAME
from caprec.capture.studio.manifest import ManifestError, read_manifest, segment_audio, utc_now, write_manifest
from caprec.capture.studio.repair import (
    check_cursor_log,
    leftover_notes,
    refuse_if_in_use,
    rewrite_verified,
    stream_copy_into,
)
from caprec.capture.studio.report import Action, FileReport, NothingPlayableError, RecoveryReport

SEGMENT_COMPLETE = "complete"
STATUS_COMPLETE = "complete"


def _segment_file(bundle: Path, relative: object) -> Path | None:
    """A segment's file named in the manifest, inside the bundle (never outside it)."""
    if not isinstance(relative, str) or not relative:
        return None
    candidate = (bundle / relative).resolve()
    root = bundle.resolve()
    if root not in candidate.parents:
        raise OutputError(f"{bundle / MANIFEST_NAME}: segment file {relative!r} lies outside the bundle")
    return candidate


def _audio_duration(path: Path, *, ffmpeg_path: str) -> float | None:
    """The duration of ``path``'s first audio stream (stream copy), None if it has no readable audio."""
    argv = [ffmpeg_path, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1",
            "-i", ffmpeg_file_url(path), "-map", "0:a:0", "-c", "copy", "-f", "null", "-"]
    try:
        result = run_tool(argv)
    except (OSError, subprocess.TimeoutExpired):
        return None
    times = re.findall(r"^out_time_us=(\d+)$", result.stdout.decode("utf-8", "replace"), re.MULTILINE)
    if result.returncode != 0 or not times or int(times[-1]) <= 0:
        return None
    return int(times[-1]) / 1e6


def _finish_file(path: Path, *, ffmpeg_path: str) -> tuple[Action, MediaCheck, str | None]:
    """Rewrite one fragmented file in place (verified); report what it holds."""
    media = verify_media(path, ffmpeg_path=ffmpeg_path)
    if not media.playable:
        return Action.DROPPED, media, "no playable video frame; left on disk"
    layout = read_layout(path)
    if layout.finished:
        return Action.KEPT, media, None
    rewritten, why = rewrite_verified([path], path, expected_frames=media.frames, ffmpeg_path=ffmpeg_path,
                                      torn_end=layout.torn)
    if rewritten is None:
        return Action.FAILED, media, f"kept fragmented (it plays): {why}"
    return Action.REMUXED, rewritten, None


def _iter_segments(manifest: dict[str, Any], manifest_path: Path) -> Iterator[dict[str, Any]]:
    segments = manifest.get("segments", [])
    if not isinstance(segments, list):
        raise OutputError(f"{manifest_path}: 'segments' must be an array of tables")
    for segment in segments:
        if not isinstance(segment, dict):
            raise OutputError(f"{manifest_path}: every [[segments]] entry must be a table")
        yield segment


def recover_studio(bundle: Path, *, ffmpeg_path: str) -> RecoveryReport:
    manifest_path = bundle / MANIFEST_NAME
    manifest = read_manifest(manifest_path)
    segments = list(_iter_segments(manifest, manifest_path))
    named = [_segment_file(bundle, s.get(key)) for s in segments for key in ("display", "camera")]
    named += [_segment_file(bundle, file) for s in segments for _, file in _audio_of(s, manifest_path)]
    refuse_if_in_use([bundle, *(p for p in named if p is not None)])
    notes = leftover_notes([manifest_path, *(p for p in named if p is not None)])
    files: list[FileReport] = []
    kept: list[dict[str, Any]] = []
    changed = manifest.get("status") != STATUS_COMPLETE
    timeline = 0.0
    for position, segment in enumerate(segments, start=1):
        index = segment.get("index", position)
        display = _segment_file(bundle, segment.get("display"))
        if display is None or not display.is_file():
            notes.append(f"segment {index} has no video file (nothing was recorded in it); dropped from the manifest")
            changed = True
            continue
        action, media, note = _finish_file(display, ffmpeg_path=ffmpeg_path)
        files.append(FileReport(path=display, action=action, frames=media.frames, duration_s=media.duration_s,
                                index=int(index) if isinstance(index, int) else None, note=note))
        if action is Action.DROPPED:
            notes.append(f"segment {index} ({display.relative_to(bundle.resolve())}) holds no playable frame; "
                         "dropped from the manifest, the file is kept")
            changed = True
            continue
        updated = dict(segment)
        changed = _recover_tracks(bundle, segment, updated, notes, manifest_path=manifest_path,
                                  ffmpeg_path=ffmpeg_path) or changed
        if action is Action.REMUXED or segment.get("status") != SEGMENT_COMPLETE:
            changed = True
        updated.update(status=SEGMENT_COMPLETE, start=round(timeline, 6), duration=round(media.duration_s, 6),
                       frames=media.frames)
        if updated != segment:
            changed = True
        timeline += media.duration_s
        kept.append(updated)
    cursor_name = manifest.get("cursor")
    cursor = check_cursor_log(bundle / (cursor_name if isinstance(cursor_name, str) else CURSOR_NAME))
    if cursor is not None and cursor.torn_line_removed:
        changed = True
    frames = sum(int(s.get("frames", 0)) for s in kept)
    if not kept:
        raise NothingPlayableError(f"no segment of {bundle} holds a playable video frame; nothing to recover "
                                   "(the files are left as they are)")
    if not changed:
        return RecoveryReport(path=bundle, kind="studio", recovered=False, files=tuple(files), frames=frames,
                              duration_s=timeline, cursor=cursor, notes=tuple(notes))
    previous = manifest.get("status")
    manifest["segments"] = kept
    manifest["status"] = STATUS_COMPLETE
    manifest.setdefault("finished", utc_now())
    manifest["recovered"] = utc_now()
    if previous != STATUS_COMPLETE:
        manifest["recovered_from"] = previous
    existing = manifest.get("stats")
    stats: dict[str, Any] = dict(existing) if isinstance(existing, dict) else {}
    stats.update(frames=frames, duration=round(timeline, 6))
    if cursor is not None:
        stats["cursor_events"] = cursor.events
    manifest["stats"] = stats
    write_manifest(manifest_path, manifest)
    return RecoveryReport(path=bundle, kind="studio", recovered=True, files=tuple(files), frames=frames,
                          duration_s=timeline, cursor=cursor, notes=tuple(notes))


def _audio_of(segment: dict[str, Any], manifest_path: Path) -> list[tuple[str, str]]:
    try:
        return segment_audio(segment, where=str(manifest_path))
    except ManifestError as exc:
        raise OutputError(str(exc)) from None


def _recover_tracks(bundle: Path, segment: dict[str, Any], updated: dict[str, Any], notes: list[str], *,
                    manifest_path: Path, ffmpeg_path: str) -> bool:
    """Finish a segment's audio files (one per input) and its camera file; drop from ``updated`` those that
    hold nothing (the files stay on disk). True when a file or the manifest changed."""
    index = segment.get("index", "?")
    changed = False
    kept: list[Any] = []
    for position, (_, relative) in enumerate(_audio_of(segment, manifest_path)):
        audio = _segment_file(bundle, relative)
        assert audio is not None  # segment_audio names no empty file
        action, note = _finish_audio(audio, ffmpeg_path=ffmpeg_path)
        if action is Action.DROPPED:
            notes.append(f"segment {index}: {note}")
            if "audio_tracks" not in segment:
                updated.pop("audio", None)
        elif "audio_tracks" in segment:
            kept.append(segment["audio_tracks"][position])
        changed = changed or action in (Action.REMUXED, Action.DROPPED)
    if "audio_tracks" in segment:
        if kept:
            updated["audio_tracks"] = kept
        else:
            updated.pop("audio_tracks")
    camera = _segment_file(bundle, segment.get("camera"))
    if camera is not None:
        if camera.is_file():
            action, _, note = _finish_file(camera, ffmpeg_path=ffmpeg_path)
        else:
            action, note = Action.DROPPED, "it is missing"
        if action is Action.DROPPED:
            updated.pop("camera", None)
            notes.append(f"segment {index}: camera file {camera.name}: {note}; removed from the manifest")
        elif note is not None:
            notes.append(f"segment {index}: camera file {camera.name}: {note}")
        changed = changed or action in (Action.REMUXED, Action.DROPPED)
    return changed


def _finish_audio(path: Path, *, ffmpeg_path: str) -> tuple[Action, str | None]:
    if not path.is_file():
        return Action.DROPPED, f"audio file {path.name} is missing; removed from the manifest"
    duration = _audio_duration(path, ffmpeg_path=ffmpeg_path)
    if duration is None:
        return Action.DROPPED, f"audio file {path.name} holds no readable audio; removed from the manifest, kept"
    if read_layout(path).finished:
        return Action.KEPT, None
    with owned_temp(path, "recover") as temp:
        why = stream_copy_into([path], temp, ffmpeg_path=ffmpeg_path)
        if why is None and (_audio_duration(temp.path, ffmpeg_path=ffmpeg_path) or 0.0) > 0:
            temp.commit(path)
            return Action.REMUXED, None
    return Action.FAILED, f"audio file {path.name} kept fragmented (it plays)"
