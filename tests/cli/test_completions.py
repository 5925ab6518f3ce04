"""The committed shell completion scripts: fresh, loadable, and the same as Typer installs.

The scripts in completions/ come from Typer's own machinery (see
completions/generate.py); when Typer changes them this test says to
regenerate. Completing a command line runs a real ``caprec`` (a wrapper
around this checkout) through the bash script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO_ROOT

COMPLETIONS = REPO_ROOT / "completions"
GENERATOR = COMPLETIONS / "generate.py"
SCRIPTS = ("caprec.bash", "_caprec", "caprec.fish", "caprec.ps1")
RUN_TIMEOUT_S = 60.0


def test_committed_completions_are_fresh(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(GENERATOR), "--output-dir", str(tmp_path)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert result.returncode == 0, result.stderr
    committed = {name: (COMPLETIONS / name).read_bytes() if (COMPLETIONS / name).is_file() else None
                 for name in SCRIPTS}
    stale = [name for name in SCRIPTS if committed[name] != (tmp_path / name).read_bytes()]
    if stale:
        pytest.fail(f"completions are stale ({', '.join(stale)}): run python completions/generate.py")


def test_scripts_complete_caprec_for_each_shell() -> None:
    texts = {name: (COMPLETIONS / name).read_text(encoding="utf-8") for name in SCRIPTS}
    assert texts["_caprec"].startswith("#compdef caprec\n")  # zsh reads it on the first line only
    assert "complete -o default -F _caprec_completion caprec" in texts["caprec.bash"]
    assert texts["caprec.fish"].startswith("complete --command caprec ")
    assert "Register-ArgumentCompleter -Native -CommandName caprec" in texts["caprec.ps1"]
    for text in texts.values():
        assert "_CAPREC_COMPLETE=complete_" in text or '_CAPREC_COMPLETE = "complete_' in text
        assert text.endswith("\n") and not text.endswith("\n\n")


@pytest.fixture
def caprec_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH starts with a ``caprec`` that runs this checkout."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "caprec"
    wrapper.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(REPO_ROOT)!r})\n"
                       "from caprec.app import main\nmain()\n", encoding="utf-8")
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPREC_") and not k.startswith("_CAPREC")}
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    env["HOME"] = str(tmp_path / "home")
    env["CAPREC_CONFIG"] = str(tmp_path / "config.toml")
    return env


def bash_complete(words: list[str], env: dict[str, str]) -> list[str]:
    """Candidates the committed bash script offers for ``words`` (the last one being completed)."""
    script = (f"source {str(COMPLETIONS / 'caprec.bash')!r}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
              "_caprec_completion caprec\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], env=env, capture_output=True,
                            text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(("words", "expected"), [
    (["caprec", "recor"], ["record"]),
    (["caprec", "rec"], ["record", "recover"]),
    (["caprec", "config", "s"], ["set", "show"]),
    (["caprec", "record", "--sou"], ["--source"]),
    (["caprec", "record", "--source", ""], ["screen", "test"]),
    (["caprec", "record", "--codec", "h264_n"], ["h264_nvenc"]),
    (["caprec", "record", "--del"], ["--delay"]),
    (["caprec", "config", "set", "cursor"], ["cursor", "cursor_flush"]),
])
def test_bash_script_completes_commands_options_and_values(words: list[str], expected: list[str],
                                                            caprec_on_path: dict[str, str]) -> None:
    assert sorted(bash_complete(words, caprec_on_path)) == expected


def test_install_completion_still_installs_the_same_script(caprec_on_path: dict[str, str], tmp_path: Path) -> None:
    env = dict(caprec_on_path, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    result = subprocess.run(["caprec", "--install-completion", "bash"], env=env, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S, check=False)
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "home" / ".bash_completions" / "caprec.sh"
    assert installed.read_text(encoding="utf-8") + "\n" == (COMPLETIONS / "caprec.bash").read_text(encoding="utf-8")
    shown = subprocess.run(["caprec", "--show-completion", "zsh"], env=env, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S, check=False)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (COMPLETIONS / "_caprec").read_text(encoding="utf-8")
