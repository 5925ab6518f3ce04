"""Where ``caprec record`` writes: the video's name, the output directory, the studio bundle, the cursor log.

Each path is checked before anything starts (name length, existing files,
``--overwrite``), and an error names the flag or variable that set it.
"""

from __future__ import annotations

import os
from pathlib import Path

from caprec.capture.errors import OutputError, SettingError
from caprec.capture.ffmpeg.argv import CONTAINERS
from caprec.capture.ffmpeg.finish import default_output_name
from caprec.capture.files.tempfiles import NAME_MAX
from caprec.capture.record.spec import STUDIO_SUFFIX
from caprec.settings import schema as opt
from caprec.settings.schema import ResolvedSettings

CURSOR_SUFFIX = ".cursor.ndjson"
#: Appended to an output name without an extension.
DEFAULT_VIDEO_SUFFIX = ".mp4"
#: Names that say "a media file": in studio mode ``-o talk.mp4`` is refused, not made a directory.
MEDIA_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".m4a", ".mp3", ".wav", ".aac"})


def cursor_log_path(video: Path) -> Path:
    """``talk.mp4`` -> ``talk.cursor.ndjson`` beside it."""
    return video.with_name(video.stem + CURSOR_SUFFIX)


def check_cursor_log(log: Path, *, overwrite: bool) -> None:
    """Refuse a cursor log whose name is too long, or that exists (without ``overwrite``)."""
    size = len(os.fsencode(log.name))
    if size > NAME_MAX:
        raise OutputError(f"the cursor log's name {log.name[:40]}... would be {size} bytes; file systems take at "
                          f"most {NAME_MAX}: choose a shorter -o or pass --no-cursor")
    if os.path.lexists(log) and not overwrite:
        raise OutputError(f"{log} already exists; pass --overwrite or choose another -o")


def output_path(settings: ResolvedSettings) -> Path | None:
    """The output file: ``-o`` as given, else a default name in ``output_dir``; None for stdout."""
    output = settings.get(opt.OUTPUT)
    if output == "-":
        return None
    if output:
        return video_name(output)
    return _output_dir(settings) / default_output_name()


def video_name(output: str) -> Path:
    """``-o`` as a video file: its extension picks the container; none gets ``.mp4``; another is refused."""
    path = Path(output)
    if path.name in ("", ".", ".."):
        raise SettingError("--output", f"{output!r} names no file; give a name such as talk.mp4")
    suffix = path.suffix.lower()
    if os.path.lexists(path) or output.endswith(os.sep):
        # Something is there (a directory, /dev/null, a file): not a name to complete. The output check
        # refuses it, or --overwrite replaces that file.
        return path
    if not suffix:
        return path.with_name(path.name + DEFAULT_VIDEO_SUFFIX)
    if suffix not in CONTAINERS:
        raise SettingError("--output", f"{path.name}: caprec writes {', '.join(CONTAINERS)}; choose one of "
                                       f"these extensions (none: {DEFAULT_VIDEO_SUFFIX} is appended)")
    return path


def _output_dir(settings: ResolvedSettings) -> Path:
    """Where default-named recordings go: ``output_dir`` (which must exist), else the current directory."""
    directory = settings.get(opt.OUTPUT_DIR)
    if directory is None:
        return Path()
    if not directory.is_dir():
        raise SettingError(settings.culprit(opt.OUTPUT_DIR),
                           f"{directory} is not a directory; create it or choose another")
    return directory


def default_bundle_name() -> str:
    """``caprec-YYYYmmdd-HHMMSS.caprec``: the default name with the studio suffix."""
    return str(Path(default_output_name()).with_suffix(STUDIO_SUFFIX))


def bundle_path(settings: ResolvedSettings) -> Path:
    """The studio bundle: ``-o NAME`` (``.caprec`` appended when missing), else a default name.

    Refuses ``-o -`` (a directory cannot stream to stdout) and a media file
    name (``talk.mp4``): the culprit is the mode's origin or ``--output``.
    """
    mode = settings.culprit(opt.MODE)
    output = settings.get(opt.OUTPUT)
    if output == "-":
        raise SettingError(mode, "studio mode writes a bundle directory, which cannot go to stdout; "
                                 "drop -o - or use --mode instant")
    if not output:
        return _output_dir(settings) / default_bundle_name()
    path = Path(output)
    if path.name in ("", ".", ".."):
        raise SettingError("--output", f"{output!r} names no bundle; give a name such as talk{STUDIO_SUFFIX}")
    if path.suffix.lower() == STUDIO_SUFFIX:
        return path
    if path.suffix.lower() in MEDIA_SUFFIXES:
        raise SettingError("--output", f"{output} is a media file name, but studio mode ({mode}) writes a bundle "
                                       f"directory; use -o {path.with_suffix(STUDIO_SUFFIX)} or --mode instant")
    return path.with_name(path.name + STUDIO_SUFFIX)


def check_bundle_path(path: Path) -> None:
    """Refuse a studio bundle that cannot be created, before anything starts.

    The bundle must not exist (``--overwrite`` does not change that: caprec
    never deletes a directory, nor replaces a file with one), and its parent
    must be a writable directory. Raises :class:`OutputError`.
    """
    if path.is_dir():
        if any(path.iterdir()):
            raise OutputError(f"{path} already exists and is not empty; caprec never deletes a directory, "
                              "even with --overwrite: choose another -o")
        raise OutputError(f"{path} already exists (empty); remove it or choose another -o "
                          "(--overwrite never replaces a bundle)")
    if os.path.lexists(path):
        raise OutputError(f"{path} exists and is not a directory; caprec does not replace a file with a "
                          "bundle: choose another -o")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise OutputError(f"directory {parent} does not exist; create it first or choose another -o")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"directory {parent} is not writable; choose another -o")
