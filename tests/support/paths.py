"""Where things are: the tests directory and the repository root."""

from __future__ import annotations

import shutil
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent


def copy_as_package(destination: Path) -> Path:
    """A copy of cli/ and capture/ laid out as installed (``caprec/``, ``caprec/capture/``) under ``destination``.

    With ``destination`` on PYTHONPATH, ``python -m caprec`` runs the copy: a test can edit it.
    """
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "cli", destination / "caprec", ignore=ignore)
    shutil.copytree(REPO_ROOT / "capture", destination / "caprec" / "capture", ignore=ignore)
    return destination / "caprec"
