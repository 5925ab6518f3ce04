#!/usr/bin/env python3
"""Write caprec's shell completion scripts with Typer's own completion machinery.

    python completions/generate.py                 # rewrite the committed scripts
    python completions/generate.py --check         # exit 1 when they are stale
    python completions/generate.py --output-dir D  # write them into D instead

Each script is what ``caprec --show-completion SHELL`` prints: it is produced
by running caprec with ``_CAPREC_COMPLETE=source_<shell>`` (Typer's
instruction style), so it is exactly what ``caprec --install-completion``
installs. The scripts call back into ``caprec`` for the candidates, so new
options and commands complete without regenerating; regenerate after
upgrading Typer (tests/cli/test_completions.py says when).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

PROG_NAME = "caprec"
COMPLETE_VAR = "_CAPREC_COMPLETE"
COMPLETIONS_DIR = Path(__file__).resolve().parent
REPO_ROOT = COMPLETIONS_DIR.parent
# Typer's shell name -> the file name each shell's loader expects.
SCRIPT_NAMES = {
    "bash": "caprec.bash",
    "zsh": "_caprec",
    "fish": "caprec.fish",
    "powershell": "caprec.ps1",
}
RUN_TIMEOUT_S = 60.0
# Run the app of this checkout under the program name the scripts complete.
_RUN_APP = f"from caprec.app import app; app(prog_name={PROG_NAME!r})"


def completion_script(shell: str) -> str:
    """The completion script Typer generates for ``shell``, ending in one newline."""
    env = dict(os.environ)
    env[COMPLETE_VAR] = f"source_{shell}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", _RUN_APP], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=RUN_TIMEOUT_S, check=False)
    if result.returncode != 0 or not result.stdout.strip():
        raise RuntimeError(f"{shell}: caprec exited with {result.returncode}: {result.stderr.strip()}")
    # zsh reads "#compdef" only on the first line: no leading blank lines.
    return result.stdout.strip() + "\n"


def generate(output_dir: Path) -> list[Path]:
    """Write every script into ``output_dir``; returns the paths written."""
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, name in SCRIPT_NAMES.items():
        path = output_dir / name
        path.write_bytes(completion_script(shell).encode("utf-8"))
        written.append(path)
    return written


def stale(directory: Path) -> list[str]:
    """The script names in ``directory`` that differ from freshly generated ones."""
    out = []
    for shell, name in SCRIPT_NAMES.items():
        path = directory / name
        current = path.read_bytes().decode("utf-8") if path.is_file() else None
        if current != completion_script(shell):
            out.append(name)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", type=Path, default=COMPLETIONS_DIR, help="where to write the scripts")
    parser.add_argument("--check", action="store_true", help="only report stale scripts (exit 1 when any)")
    args = parser.parse_args(argv)
    if args.check:
        names = stale(args.output_dir)
        if names:
            print(f"completions are stale ({', '.join(names)}): run python completions/generate.py",
                  file=sys.stderr)
            return 1
        return 0
    for path in generate(args.output_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
