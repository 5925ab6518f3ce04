"""The README and docs/: short, linked, and the set-up commands in step with CI."""

from __future__ import annotations

import re
from pathlib import Path

from support.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
CI = REPO_ROOT / ".ci" / "run"
PLATFORMS_WORKFLOW = REPO_ROOT / ".github" / "workflows" / "platforms.yml"
TEST_COMMAND = "python3 -m pytest"
PLATFORM_SUITE = "python -m pytest tests/platform -m platform"
# A page a newcomer reads in five minutes (the old one was 42 KB).
README_MAX_BYTES = 10_000
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")
# A test file or folder a page names in a code span (`tests/e2e/test_faults.py`), from the repository root.
TEST_PATH = re.compile(r"`(tests/[\w./-]+)`")


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_every_relative_link_and_named_test_path_resolves() -> None:
    broken = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        for target, _anchor in LINK.findall(text):
            if "://" in target:
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO_ROOT)} -> {target}")
        broken += [f"{page.relative_to(REPO_ROOT)} names {path}" for path in TEST_PATH.findall(text)
                   if not (REPO_ROOT / path).exists()]
    assert broken == []


def test_docs_index_lists_every_page() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name


def test_readme_is_short_and_has_what_a_newcomer_needs() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) <= README_MAX_BYTES
    for needed in ("Python 3.11", "venv", "pipx", "externally-managed-environment", "git clone",
                   "## Five examples", "## What files appear", "space", "Ctrl-C twice", "## Exit codes",
                   "caprec doctor", "● REC", "docs/README.md", "## More"):
        assert needed in text, needed


def readme_setups() -> list[str]:
    """The README's two set-up blocks: a first recording, then the tests."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return [block.strip() for block in blocks if "pip install" in block]


def test_setup_commands_run_the_same_tests_as_ci() -> None:
    setups = readme_setups()
    assert len(setups) == 2, setups
    record, tests = setups
    assert record.endswith("caprec record --source test --duration 5 -o demo.mp4")
    assert tests.endswith(f"&& {TEST_COMMAND}")
    ci_lines = [line.strip() for line in CI.read_text(encoding="utf-8").splitlines()]
    assert ci_lines[-1] == TEST_COMMAND


def test_the_platforms_workflow_installs_as_the_readme_says_and_runs_the_platform_suite() -> None:
    """Each real-machine job installs this checkout the way the README's test set-up does (editable:
    tests/conftest.py refuses another caprec) and runs tests/platform under its marker."""
    install = re.search(r"pip install -e \S+", readme_setups()[1])
    assert install is not None
    jobs = re.split(r"^  (\w+):\n", PLATFORMS_WORKFLOW.read_text(encoding="utf-8").split("\njobs:\n", 1)[1],
                    flags=re.M)[1:]
    steps = dict(zip(jobs[::2], jobs[1::2], strict=True))
    assert sorted(steps) == ["macos", "windows"]
    for job, body in steps.items():
        assert f"run: {install.group(0)}\n" in body, job
        assert f"run: {PLATFORM_SUITE} " in body, job
    suite = sorted((REPO_ROOT / "tests" / "platform").glob("test_*.py"))
    assert suite and all("pytest.mark.platform" in path.read_text(encoding="utf-8") for path in suite)
