"""caprec.ui.helpcache: a cached help page is the page caprec prints fresh, for that terminal and that code only."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from caprec.ui.helpcache import ENTRY_PREFIX, is_help_request
from support.paths import copy_as_package
from support.process import python_argv
from support.pty import spawn_in_pty

RUN_TIMEOUT_S = 60.0
PAGES = [["--help"], ["record", "--help"], ["config", "set", "-h"], ["cursor", "summary", "--help"]]


def environment(cache: Path, variables: dict[str, str] | None = None, *, source: Path | None = None) -> dict[str, str]:
    """caprec's environment with its cache in ``cache``; ``source``: run that copy (see copy_as_package)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CAPREC_", "XDG_", "COLUMNS", "NO_COLOR", "FORCE_COLOR", "PYTHONPATH"))}
    env.update(XDG_CACHE_HOME=str(cache), XDG_CONFIG_HOME=str(cache / "config"), **(variables or {}))
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(python_argv(*args), cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S, check=False)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


def entries(cache: Path) -> list[Path]:
    directory = cache / "caprec"
    return sorted(directory.glob(f"{ENTRY_PREFIX}*.json")) if directory.is_dir() else []


@pytest.mark.parametrize("args", PAGES, ids=" ".join)
@pytest.mark.parametrize("variables", [{"COLUMNS": "60"}, {"COLUMNS": "120", "FORCE_COLOR": "1"}], ids=str)
def test_the_cached_page_is_the_fresh_page(args: list[str], variables: dict[str, str], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    no_cache = tmp_path / "not-a-directory"
    no_cache.write_text("")  # the cache directory cannot be made here: every run is fresh
    fresh = run(args, environment(no_cache, variables), tmp_path)
    first = run(args, environment(cache, variables), tmp_path)
    [entry] = entries(cache)
    second = run(args, environment(cache, variables), tmp_path)
    assert first == second == fresh
    assert "Usage:" in fresh and "caprec" in fresh
    # The second page came from the entry: a changed entry is what the next run prints.
    stored = json.loads(entry.read_text())
    stored["value"]["stdout"] = "from the cache\n"
    entry.write_text(json.dumps(stored))
    assert run(args, environment(cache, variables), tmp_path) == "from the cache\n"


def test_another_terminal_width_is_another_page(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    narrow = run(["record", "--help"], environment(cache, {"COLUMNS": "60"}), tmp_path)
    wide = run(["record", "--help"], environment(cache, {"COLUMNS": "100"}), tmp_path)
    assert narrow != wide
    assert len(entries(cache)) == 2
    assert run(["record", "--help"], environment(cache, {"COLUMNS": "60"}), tmp_path) == narrow


def test_a_code_change_replaces_the_page(tmp_path: Path) -> None:
    source = tmp_path / "src"
    package = copy_as_package(source)
    cache = tmp_path / "cache"
    env = environment(cache, {"COLUMNS": "100"}, source=source)
    before = run(["record", "--help"], env, tmp_path)
    assert "Record the screen (or a test pattern)" in before
    record = package / "commands" / "record.py"
    record.write_text(record.read_text().replace('"""Record the screen (or a test pattern)',
                                                 '"""Record THE screen (or a test pattern)'))
    after = run(["record", "--help"], env, tmp_path)
    assert "Record THE screen (or a test pattern)" in after
    assert len(entries(cache)) == 1  # the entry was replaced, not joined by another


def test_a_terminal_gets_its_colours_back(tmp_path: Path) -> None:
    """On a TTY the page has colours and the terminal's width: the cached bytes are the same."""
    env = environment(tmp_path / "cache", {"TERM": "xterm-256color"})

    def page() -> str:
        child = spawn_in_pty(python_argv("record", "--help"), cwd=tmp_path, env=env, timeout=RUN_TIMEOUT_S,
                             columns=90)
        text = child.read()
        child.close()
        assert child.exitstatus == 0, text
        return str(text)

    first = page()
    assert len(entries(tmp_path / "cache")) == 1
    assert "\x1b[" in first
    assert page() == first


@pytest.mark.parametrize(("args", "cached"), [
    (["--help"], True), (["-h"], True), (["record", "--help"], True), (["config", "set", "-h"], True),
    ([], False), (["record"], False), (["record", "-o", "x.mp4", "--help"], False), (["--help", "record"], False),
    (["record", "--source", "--help"], False), (["Record", "--help"], False),
])
def test_only_plain_help_requests_are_cached(args: list[str], cached: bool) -> None:
    assert is_help_request(args) is cached


def test_a_recording_does_not_import_the_cache(tmp_path: Path) -> None:
    args = ["record", "--source", "test", "-d", "2", "--dry-run", "-o", "x.mp4"]
    result = subprocess.run([*python_argv(*args)[:1], "-X", "importtime", *python_argv(*args)[1:]], cwd=tmp_path,
                            env=environment(tmp_path / "cache"), capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S, check=False)
    assert result.returncode == 0, result.stderr
    assert "caprec.commands.record" in result.stderr
    assert "caprec.ui.helpcache" not in result.stderr
