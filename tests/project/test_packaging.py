"""Packaging: one import namespace, ``caprec``, and every package of the tree in the wheel.

pyproject.toml maps cli/ to ``caprec`` and capture/ to ``caprec.capture`` and lists the packages (setuptools'
find cannot rename), so a new subpackage that is not listed would be missing from the wheel: checked here.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from support.paths import REPO_ROOT

WHEEL_TIMEOUT_S = 120.0
INSTALLED_AS = {"cli": "caprec", "capture": "caprec.capture"}


def tree_packages() -> set[str]:
    found = set()
    for directory, name in INSTALLED_AS.items():
        for init in (REPO_ROOT / directory).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO_ROOT / directory).parts
            found.add(".".join([name, *parts]))
    return found


def test_every_package_of_the_tree_is_listed_for_the_wheel() -> None:
    setuptools = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(setuptools["packages"]) == tree_packages()
    assert setuptools["package-dir"] == {"caprec": "cli", "caprec.capture": "capture"}


def test_python_dash_m_caprec_is_the_command() -> None:
    result = subprocess.run([sys.executable, "-m", "caprec", "--version"], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("caprec ")


def test_the_wheel_installs_one_top_level_package(tmp_path: Path) -> None:
    """Nothing named ``cli`` or ``capture`` lands in site-packages: every file of the wheel is under ``caprec/``."""
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(tmp_path), str(REPO_ROOT)], capture_output=True, text=True, check=False,
                           timeout=WHEEL_TIMEOUT_S, cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("caprec-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        names = set(archive.namelist())
    assert {top for top in tops if not top.endswith(".dist-info")} == {"caprec"}
    assert {"caprec/__main__.py", "caprec/capture/__init__.py", "caprec/py.typed", "caprec/capture/py.typed",
            "caprec/capture/record/session.py", "caprec/commands/record.py"} <= names
