"""Start-up: what runs before anything is recorded or printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.paths import REPO_ROOT

HEAVY = ("typer", "rich", "pydantic", "ffmpeg", "pynput")


def _imported(args: list[str], env: dict[str, str],
              tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "caprec", *args], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    names = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in result.stderr.splitlines()
             if line.startswith("import time:")}
    return result, names


def test_version_imports_nothing_heavy(caprec_env: dict[str, str], tmp_path: Path) -> None:
    result, names = _imported(["--version"], caprec_env, tmp_path)
    assert result.returncode == 0
    assert result.stdout == "caprec 0.1.0\n"
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def test_help_does_not_import_the_recording_machinery(caprec_env: dict[str, str], tmp_path: Path) -> None:
    result, names = _imported(["--help"], caprec_env, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ffmpeg" not in names and "pynput" not in names


def test_the_entry_point_is_the_fast_one() -> None:
    text = (REPO_ROOT / "pyproject.toml").read_text()
    assert 'caprec = "caprec.entry:main"' in text
