"""``caprec recover``: turn what a killed recording left into finished files.

A recording killed before its clean stop (``kill -9``, a power cut, a crash)
leaves files that play but are not finished:

- **instant**: the output MP4 still fragmented (no rewrite with the index
  first yet), and after a pause the later segments in ``<stem>.part-N.mp4``
  beside it, not yet joined;
- **studio**: a bundle directory whose ``recording.toml`` still says
  ``recording``, with fragmented segment files.

:func:`recover` reads every file back with FFmpeg, joins or rewrites them by
stream copy into a temporary sibling, checks that the result holds the frames
it read before, then renames it over the output (atomic: at every moment the
files on disk play). It never deletes a file that holds frames it could not
carry over. Running it again finds nothing to do.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from capture.cursor.format import CursorFormatError
from capture.cursor.reader import summarize_cursor_log
from capture.errors import CaptureError, DiskFullError, OutputError
from capture.ffmpeg.argv import INDEX_FIRST_CONTAINERS, container_for
from capture.ffmpeg.finish import (
    REMUX_BYTES_PER_SECOND,
    REMUX_TIMEOUT_FLOOR,
    MediaCheck,
    failure_reason,
    ffmpeg_file_url,
    opened_parts,
    stream_copy_argv,
    verify_media,
)
from capture.ffmpeg.process import run_tool
from capture.files.lock import locked_by_other
from capture.files.mp4boxes import Mp4Layout, read_layout
from capture.files.tempfiles import OwnedTemp, owned_temp, remove_leftovers
from capture.record.pump import is_disk_full
from capture.record.session import CURSOR_NAME, MANIFEST_NAME, STUDIO_SUFFIX
from capture.studio.manifest import ManifestError, read_manifest, segment_audio, utc_now, write_manifest

RECOVER_SCHEMA = "caprec-recover/1"
# ``talk.mp4`` -> ``talk.part-2.mp4`` (capture.record.session.PART_FORMAT).
PART_PATTERN = r"{stem}\.part-(\d+){suffix}"
CURSOR_SUFFIX = ".cursor.ndjson"
# A stream copy may lose the one packet a torn last fragment cut in half;
# more than that per file means FFmpeg stopped early (the concat demuxer
# does that, exiting 0, on a broken packet in a middle file).
FRAMES_LOST_PER_FILE = 1
SEGMENT_COMPLETE = "complete"
STATUS_COMPLETE = "complete"
# What FFmpeg prints when a write fails with ENOSPC.
DISK_FULL_TEXT = "No space left on device"


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


def find_parts(output: Path) -> list[Path]:
    """The later segments of an instant recording, ``<stem>.part-N<suffix>``, in order of N."""
    pattern = re.compile(PART_PATTERN.format(stem=re.escape(output.stem), suffix=re.escape(output.suffix)))
    found: list[tuple[int, Path]] = []
    with contextlib.suppress(FileNotFoundError):
        for entry in output.absolute().parent.iterdir():
            match = pattern.fullmatch(entry.name)
            if match and entry.is_file():
                found.append((int(match.group(1)), entry))
    return [path for _, path in sorted(found)]


def _open_by(paths: list[Path]) -> int | None:
    """Another process that has one of ``paths`` open (Linux /proc), or None."""
    if not sys.platform.startswith("linux"):
        return None
    wanted = {os.path.realpath(path) for path in paths}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in wanted:
                        return int(entry.name)
    return None


def _refuse_if_in_use(paths: list[Path]) -> None:
    held = locked_by_other(paths)
    if held is not None:
        raise OutputError(f"a running caprec holds {held} (recording or paused); stop that recording first, "
                          "then recover what it left")
    pid = _open_by([path for path in paths if path.exists()])
    if pid is not None:
        raise OutputError(f"process {pid} still has the recording open (is it still recording?); "
                          "stop that recording first, then recover what it left")


def _copy(sources: list[Path], destination: OwnedTemp, *, ffmpeg_path: str,
          max_frames: int | None = None) -> str | None:
    """Stream-copy ``sources`` (joined in order) into ``destination`` with the index first.

    One source is a plain remux; several go through the concat demuxer,
    the parts passed as descriptors (see :func:`capture.ffmpeg.finish.opened_parts`).
    Returns None on success, else why not.
    """
    timeout = REMUX_TIMEOUT_FLOOR + sum(path.stat().st_size for path in sources) / REMUX_BYTES_PER_SECOND
    with contextlib.ExitStack() as stack:
        listing = stack.enter_context(owned_temp(destination.path, "concat")) if len(sources) > 1 else None
        fds = stack.enter_context(opened_parts(sources)) if len(sources) > 1 else []
        argv = stream_copy_argv(sources, listing, destination.path, ffmpeg_path=ffmpeg_path, fds=fds,
                                container=container_for(destination.path))
        if max_frames is not None:
            at = argv.index(ffmpeg_file_url(destination.path))
            argv[at:at] = ["-frames:v", str(max_frames)]  # an output option: before the destination
        try:
            result = run_tool(argv, timeout=timeout, pass_fds=fds)
        except subprocess.TimeoutExpired:
            return f"ffmpeg took longer than {timeout:.0f} s"
        except OSError as exc:
            return f"cannot run {ffmpeg_path}: {exc.strerror or exc}"
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        if any(DISK_FULL_TEXT in line for line in lines):
            raise DiskFullError(f"the disk holding {destination.path.parent} is full; free some space, "
                                "then run `caprec recover` again (nothing was changed)")
        return failure_reason(result)
    return None


def rewrite_verified(sources: list[Path], destination: Path, *, expected_frames: int,
                     ffmpeg_path: str, torn_end: bool = False,
                     sync: Callable[[int], None] = os.fsync) -> tuple[MediaCheck | None, str | None]:
    """Copy ``sources`` into a temporary sibling of ``destination``, check it, rename it over ``destination``.

    The copy must hold at least ``expected_frames`` minus
    :data:`FRAMES_LOST_PER_FILE` per source, else nothing is changed and the
    reason is returned. Returns (what the new file holds, None) on success.
    ``torn_end``: the last source ends in a packet cut in half, which FFmpeg
    counts and copies but no decoder reads ("Invalid NAL unit size"); the
    copy stops before it. Raises :class:`DiskFullError` when the disk has no
    room for the copy.
    ``sync`` makes the copy durable before the rename, through the copy's own
    writable descriptor (Windows' FlushFileBuffers refuses a read-only one).
    """
    try:
        with owned_temp(destination, "recover") as temp:
            why = _copy(sources, temp, ffmpeg_path=ffmpeg_path,
                        max_frames=expected_frames - 1 if torn_end else None)
            if why is not None:
                return None, why
            media = verify_media(temp.path, ffmpeg_path=ffmpeg_path)
            floor = expected_frames - FRAMES_LOST_PER_FILE * len(sources)
            if media.frames < floor:
                return None, f"the rewritten file held {media.frames} of {expected_frames} frames; kept the originals"
            temp.commit(destination, sync=sync)  # the file keeps its permissions
            return media, None
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(f"the disk holding {destination.parent} is full; free some space, "
                                "then run `caprec recover` again (nothing was changed)") from None
        return None, str(exc.strerror or exc)


def _trim_to_fragments(path: Path, layout: Mp4Layout) -> bool:
    """Cut a torn last fragment off a file that must be joined to a later one.

    FFmpeg's concat demuxer stops (and exits 0) at a packet cut in half in
    the middle of its input; the last whole fragment is the safe end.
    Returns True if the file was shortened.
    """
    if not layout.torn or layout.fragment_end == 0:
        return False
    os.truncate(path, layout.fragment_end)
    return True


def check_cursor_log(path: Path) -> CursorReport | None:
    """Read a cursor log back; cut off a torn last line (a write the kill cut short).

    Returns None when there is no log at ``path``. A log whose header is
    unreadable is reported with 0 events and the reason, and left alone.
    """
    if not path.is_file():
        return None
    torn = False
    data_end = _last_newline_end(path)
    size = path.stat().st_size
    if data_end is not None and 0 < data_end < size:
        os.truncate(path, data_end)
        torn = True
    try:
        summary = summarize_cursor_log(path)
    except (CursorFormatError, OSError) as exc:
        return CursorReport(path=path, events=0, torn_line_removed=False, warnings=(str(exc),))
    warnings = tuple(summary.warnings) + (("an incomplete last line was removed",) if torn else ())
    return CursorReport(path=path, events=summary.events, torn_line_removed=torn, warnings=warnings)


def _last_newline_end(path: Path) -> int | None:
    """The offset just after the file's last newline; None if it has none."""
    chunk = 64 * 1024
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        position = end
        while position > 0:
            start = max(0, position - chunk)
            handle.seek(start)
            data = handle.read(position - start)
            found = data.rfind(b"\n")
            if found >= 0:
                return start + found + 1
            position = start
    return None


def recover(path: Path, *, ffmpeg_path: str) -> RecoveryReport:
    """Finish what a killed recording at ``path`` left: an instant MP4 or a studio bundle.

    Raises :class:`OutputError` for a path that is neither (or is still
    being recorded), :class:`NothingPlayableError` when no file holds a
    frame, and :class:`capture.studio.manifest.ManifestError` for a bundle whose
    manifest cannot be read.
    """
    if path.name == MANIFEST_NAME and path.is_file():
        path = path.parent
    if path.is_dir():
        if not (path / MANIFEST_NAME).is_file():
            raise OutputError(f"{path} is a directory without {MANIFEST_NAME}, not a caprec studio bundle "
                              f"(NAME{STUDIO_SUFFIX}/); give a bundle or an MP4")
        return _recover_studio(path, ffmpeg_path=ffmpeg_path)
    if path.is_file():
        return _recover_instant(path, ffmpeg_path=ffmpeg_path)
    if not path.exists() and find_parts(path):
        raise OutputError(f"{path} does not exist but its parts do; rename the first part to {path.name} "
                          "or recover each part on its own")
    raise OutputError(f"{path} does not exist; give the MP4 or the {STUDIO_SUFFIX} bundle a recording left")


def _recover_instant(path: Path, *, ffmpeg_path: str) -> RecoveryReport:
    parts = find_parts(path)
    _refuse_if_in_use([path, *parts])
    removed = _remove_leftovers([path])
    try:
        layout = read_layout(path)
    except OSError as exc:
        raise OutputError(f"cannot read {path} ({exc.strerror or exc})") from None
    cursor = check_cursor_log(path.with_name(path.stem + CURSOR_SUFFIX))
    # A recording is an MP4 until it is finished: under a Matroska name (.mkv), anything else is the finished file.
    finished_elsewhere = (not layout.boxes or layout.boxes[0] != "ftyp") and not parts \
        and container_for(path) not in INDEX_FIRST_CONTAINERS
    if (not layout.boxes or layout.boxes[0] != "ftyp") and not finished_elsewhere:
        raise OutputError(f"{path} is not an MP4 file; give the MP4 or the {STUDIO_SUFFIX} bundle a recording left")
    notes = list(removed)
    if (layout.finished or finished_elsewhere) and not parts:
        media = verify_media(path, ffmpeg_path=ffmpeg_path)
        if not media.playable:
            raise NothingPlayableError(f"{path} holds no playable video frame; nothing to recover")
        report = FileReport(path=path, action=Action.KEPT, frames=media.frames, duration_s=media.duration_s,
                            index=1, note=f"already a finished {path.suffix.lstrip('.').upper() or 'MP4'} file")
        return RecoveryReport(path=path, kind="instant", recovered=False, files=(report,), frames=media.frames,
                              duration_s=media.duration_s, cursor=cursor, notes=tuple(notes))

    checked: list[tuple[Path, MediaCheck]] = []
    files: list[FileReport] = []
    for index, candidate in enumerate([path, *parts], start=1):
        media = verify_media(candidate, ffmpeg_path=ffmpeg_path)
        if media.playable:
            checked.append((candidate, media))
        else:
            files.append(FileReport(path=candidate, action=Action.DROPPED, frames=0, duration_s=0.0, index=index,
                                    note="no playable video frame; left on disk"))
    if not checked:
        raise NothingPlayableError(f"no playable video frame in {path}{' or its parts' if parts else ''}; "
                                   "nothing to recover")
    if checked[0][0] != path:
        raise NothingPlayableError(f"{path} holds no playable video frame; its parts are left as they are "
                                   f"({', '.join(p.name for p, _ in checked)}): recover each on its own")
    for position, (candidate, _) in enumerate(checked[:-1]):
        if _trim_to_fragments(candidate, read_layout(candidate)):
            notes.append(f"{candidate.name} ended in a torn fragment; it was cut at its last whole fragment")
            checked[position] = (candidate, verify_media(candidate, ffmpeg_path=ffmpeg_path))
    sources = [candidate for candidate, _ in checked]
    expected = sum(media.frames for _, media in checked)
    torn = read_layout(sources[-1]).torn
    if torn:
        notes.append(f"{sources[-1].name} ended in a packet cut in half; the copy stops before it")
    result, why = rewrite_verified(sources, path, expected_frames=expected, ffmpeg_path=ffmpeg_path, torn_end=torn)
    if result is None:
        raise NothingPlayableError(f"could not rewrite {path}: {why}; every file was left as it was")
    for part in sources[1:]:
        part.unlink()
    joined = [FileReport(path=p, action=Action.REMUXED if p == path else Action.JOINED, frames=m.frames,
                         duration_s=m.duration_s, index=i) for i, (p, m) in enumerate(checked, start=1)]
    if len(sources) > 1:
        notes.append(f"joined {len(sources)} segments into {path.name} and deleted the parts")
    return RecoveryReport(path=path, kind="instant", recovered=True, files=tuple(joined + files),
                          frames=result.frames, duration_s=result.duration_s, cursor=cursor, notes=tuple(notes))


def _remove_leftovers(paths: list[Path]) -> list[str]:
    """Delete the temporary copies killed caprec runs left beside ``paths``; one note per file removed."""
    return [f"removed {leftover.name}, a temporary copy a killed caprec left"
            for path in paths for leftover in remove_leftovers(path)]


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


def _recover_studio(bundle: Path, *, ffmpeg_path: str) -> RecoveryReport:
    manifest_path = bundle / MANIFEST_NAME
    manifest = read_manifest(manifest_path)
    segments = list(_iter_segments(manifest, manifest_path))
    named = [_segment_file(bundle, s.get(key)) for s in segments for key in ("display", "camera")]
    named += [_segment_file(bundle, file) for s in segments for _, file in _audio_of(s, manifest_path)]
    _refuse_if_in_use([bundle, *(p for p in named if p is not None)])
    notes = _remove_leftovers([manifest_path, *(p for p in named if p is not None)])
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
        why = _copy([path], temp, ffmpeg_path=ffmpeg_path)
        if why is None and (_audio_duration(temp.path, ffmpeg_path=ffmpeg_path) or 0.0) > 0:
            temp.commit(path)
            return Action.REMUXED, None
    return Action.FAILED, f"audio file {path.name} kept fragmented (it plays)"

