"""The studio bundle's manifest, ``recording.toml``: read with tomllib, written atomically with tomli-w.

``version`` is the format's major version: a reader refuses a newer one.
``minor_version`` (absent: 0) adds what older readers may ignore:

- 1.1: several audio inputs are one file each, listed per segment as
  ``[[segments.audio_tracks]]`` (``input``, ``file``); one input is still
  the segment's ``audio``. A segment's ``camera`` file, and a top-level
  ``[camera]`` table (``source``, ``corner``, ``width``). ``audio_inputs``
  names the inputs in order.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w
from caprec.capture.errors import CaptureError
from caprec.capture.files.atomic import write_atomic

MANIFEST_FORMAT = "caprec-studio"
MANIFEST_VERSION = 1
MANIFEST_MINOR = 1


class ManifestError(CaptureError):
    """A bundle's manifest is missing, malformed or from a newer caprec."""


def utc_now() -> str:
    """The current time as ISO 8601 UTC, as the manifest stores times."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_manifest(path: Path, document: dict[str, Any]) -> None:
    """Replace ``path`` with ``document`` atomically (temp sibling, fsync, rename).

    A reader (or a crash) sees the old manifest or the new one, never a
    torn one.
    """
    write_atomic(path, tomli_w.dumps(_drop_none(document)).encode())


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and check a manifest; raises :class:`ManifestError` with a one-line reason."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ManifestError(f"{path} does not exist; is {path.parent} a caprec studio bundle?") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path} is not valid TOML ({exc})") from None
    if document.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{path} is not a caprec studio manifest (format is {document.get('format')!r})")
    version = document.get("version")
    if not isinstance(version, int) or version > MANIFEST_VERSION:
        raise ManifestError(f"{path} has manifest version {version!r}; this caprec reads up to "
                            f"{MANIFEST_VERSION}: upgrade caprec")
    return document


def segment_audio(segment: Mapping[str, Any], *, where: str) -> list[tuple[str, str]]:
    """(input name, file relative to the bundle) of each audio file of a ``[[segments]]`` table.

    Reads 1.1's ``audio_tracks`` and 1.0's single ``audio`` (named ``audio``).
    Raises :class:`ManifestError` naming ``where`` for an entry of the wrong shape.
    """
    tracks = segment.get("audio_tracks")
    if tracks is None:
        single = segment.get("audio")
        return [("audio", single)] if isinstance(single, str) and single else []
    if not isinstance(tracks, list):
        raise ManifestError(f"{where}: 'audio_tracks' must be an array of tables")
    found: list[tuple[str, str]] = []
    for track in tracks:
        if not isinstance(track, dict) or not isinstance(track.get("file"), str) or not track["file"]:
            raise ManifestError(f"{where}: every audio_tracks entry needs a 'file' string")
        found.append((str(track.get("input") or f"input-{len(found) + 1}"), track["file"]))
    return found


def _drop_none(value: Any) -> Any:
    """TOML has no null: leave out keys whose value is None."""
    if isinstance(value, dict):
        return {key: _drop_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_none(item) for item in value]
    return value
