"""The studio bundle's manifest, ``recording.toml``: read with tomllib, written atomically with tomli-w."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from capture.errors import CaptureError
from capture.files.atomic import write_atomic

MANIFEST_FORMAT = "caprec-studio"
MANIFEST_VERSION = 1


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


def _drop_none(value: Any) -> Any:
    """TOML has no null: leave out keys whose value is None."""
    if isinstance(value, dict):
        return {key: _drop_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_none(item) for item in value]
    return value
