"""The pointer-image store: PNG round trip, premultiplied XFixes pixels, each image once, no symlinks followed.

The XFixes watcher itself runs against a real Xvfb in tests/e2e/test_render.py
(the studio bundle fixture changes the pointer's image mid-recording).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from caprec.capture.cursor.shapes import ShapeError, ShapeStore, png_rgba, read_png_rgba, unpremultiply


def test_png_round_trip() -> None:
    rgba = bytes(range(256)) * 3  # 12 x 16 pixels
    assert read_png_rgba(png_rgba(12, 16, rgba)) == (12, 16, rgba)


@pytest.mark.parametrize("data", [b"not a png", png_rgba(2, 2, bytes(16))[:-20] + b"\x00" * 8])
def test_a_damaged_image_is_refused(data: bytes) -> None:
    with pytest.raises(ShapeError):
        read_png_rgba(data)


def test_xfixes_pixels_are_unpremultiplied() -> None:
    # Half-transparent white, opaque red, fully transparent.
    assert unpremultiply([0x80808080, 0xFFFF0000, 0x00000000]) == bytes(
        [255, 255, 255, 0x80, 255, 0, 0, 255, 0, 0, 0, 0])


def test_each_image_is_stored_once(tmp_path: Path) -> None:
    store = ShapeStore(tmp_path / "cursors")
    first = store.add(1, 1, 0, 0, bytes(4))
    again = store.add(1, 1, 0, 0, bytes(4))
    other = store.add(1, 1, 1, 0, bytes(4))  # the hotspot is part of the image's identity
    assert first == again != other
    assert sorted(p.name for p in (tmp_path / "cursors").iterdir()) == sorted([f"{first}.png", f"{other}.png"])


def test_the_store_never_writes_through_a_symlink(tmp_path: Path) -> None:
    store = ShapeStore(tmp_path / "cursors")
    shape = store.add(1, 1, 0, 0, bytes(4))
    target = tmp_path / "precious"
    target.write_bytes(b"keep")
    (tmp_path / "cursors" / f"{shape}.png").unlink()
    os.symlink(target, tmp_path / "cursors" / f"{shape}.png")
    ShapeStore(tmp_path / "cursors").add(1, 1, 0, 0, bytes(4))  # a new store: tries to create it again
    assert target.read_bytes() == b"keep"
