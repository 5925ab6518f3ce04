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
import re
from pathlib import Path

from caprec.capture.errors import OutputError
from caprec.capture.ffmpeg.argv import INDEX_FIRST_CONTAINERS, container_for
from caprec.capture.ffmpeg.finish import MediaCheck, verify_media
from caprec.capture.files.mp4boxes import read_layout
from caprec.capture.record.spec import MANIFEST_NAME, STUDIO_SUFFIX
from caprec.capture.studio.bundle_recovery import recover_studio
from caprec.capture.studio.repair import (
    check_cursor_log,
    leftover_notes,
    refuse_if_in_use,
    rewrite_verified,
    trim_to_fragments,
)
from caprec.capture.studio.report import Action, FileReport, NothingPlayableError, RecoveryReport

# ``talk.mp4`` -> ``talk.part-2.mp4`` (caprec.capture.record.session.PART_FORMAT).
PART_PATTERN = r"{stem}\.part-(\d+){suffix}"
CURSOR_SUFFIX = ".cursor.ndjson"


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


def recover(path: Path, *, ffmpeg_path: str) -> RecoveryReport:
    """Finish what a killed recording at ``path`` left: an instant MP4 or a studio bundle.

    Raises :class:`OutputError` for a path that is neither (or is still
    being recorded), :class:`NothingPlayableError` when no file holds a
    frame, and :class:`caprec.capture.studio.manifest.ManifestError` for a bundle whose
    manifest cannot be read.
    """
    if path.name == MANIFEST_NAME and path.is_file():
        path = path.parent
    if path.is_dir():
        if not (path / MANIFEST_NAME).is_file():
            raise OutputError(f"{path} is a directory without {MANIFEST_NAME}, not a caprec studio bundle "
                              f"(NAME{STUDIO_SUFFIX}/); give a bundle or an MP4")
        return recover_studio(path, ffmpeg_path=ffmpeg_path)
    if path.is_file():
        return _recover_instant(path, ffmpeg_path=ffmpeg_path)
    if not path.exists() and find_parts(path):
        raise OutputError(f"{path} does not exist but its parts do; rename the first part to {path.name} "
                          "or recover each part on its own")
    raise OutputError(f"{path} does not exist; give the MP4 or the {STUDIO_SUFFIX} bundle a recording left")


def _recover_instant(path: Path, *, ffmpeg_path: str) -> RecoveryReport:
    parts = find_parts(path)
    refuse_if_in_use([path, *parts])
    removed = leftover_notes([path])
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
        if trim_to_fragments(candidate, read_layout(candidate)):
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
