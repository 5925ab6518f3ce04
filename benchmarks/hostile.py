"""Rerun the hostile cases of issue 9 and print pass/fail per item, optionally before/after.

The cases are the tests in ``tests/e2e/test_hardening.py`` (items 1-11) and
``tests/e2e/test_hostile_input.py`` (items 12-14): symlinks planted by a second
local user, a frozen FFmpeg, 20 pauses, a renamed output, a full disk, closed
streams, absurd names and configs. Some need root (a second user, a tmpfs)
and are skipped without it.

    python3 benchmarks/hostile.py                  # this tree
    python3 benchmarks/hostile.py --before REV     # the same cases on REV too (REV's modules as named here)
    python3 benchmarks/hostile.py --before a063500 --tests-from 7b89c5f  # issue 9: before vs today

With ``--before``, the revision is exported (``git archive``) to a temporary
directory, the two test files of this tree are copied in (where that revision
keeps its tests: ``tests/e2e/``, or flat in ``tests/`` before the tests
mirrored the code's layout) with the fixtures and helpers they import
(``tests/conftest.py``, ``tests/support/``), and both trees are run one after
the other, each with its own code as ``caprec`` (``_common.source_env``). A
case that fails "before" and passes "after" is a fixed item.

This tree's test files import the engine's modules by their current names
(``caprec.capture.record.segment``...), so they cannot load on a revision
whose modules lay elsewhere, such as a063500, the code issue 9 was filed
against (flat ``capture/recorder.py``...). ``--tests-from REV2`` runs that
revision with REV2's whole ``tests/`` instead: the same cases as they were
written for that layout. For issue 9 that is 7b89c5f, the tip of the
hardening branch, which was based on a063500; its cases differ from today's
only in imports, helpers' homes and ``--cursor`` (the instant-mode cursor log
became opt-in later). A run in which no case of the revision could load says
so instead of printing an empty "before" column.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from _common import source_env

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_TESTS = ("test_hardening.py", "test_hostile_input.py")
# Where a tree keeps them: end-to-end tests live in tests/e2e/ since the tests mirror the code's layout;
# a tree from before that has them flat in tests/.
E2E_TESTS = "tests/e2e"
FLAT_TESTS = "tests"
# What the hostile tests import besides the code under test: this tree's fixtures and helpers.
TEST_SUPPORT = ("tests/conftest.py", "tests/support")
RUN_TIMEOUT_S = 1800

# Issue 9's items and the tests (name substrings) that reproduce each.
ITEMS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "stats/summary file symlink", ("test_stats_and_summary_files_replace",)),
    (2, "predictable temporary names", ("test_planted_temporary_names", "test_temporary_names_fit")),
    (3, "-o LINK --overwrite", ("test_overwrite_replaces_a_link",)),
    (4, "cursor log created exclusively", ("test_a_cursor_log_that_appears",)),
    (5, "failed join / newline in name", ("test_a_newline_in_the_name", "test_a_failed_join")),
    (6, "recover while paused, stale lock", ("test_recover_refuses_while",)),
    (7, "frozen ffmpeg = stalled", ("test_a_frozen_ffmpeg",)),
    (8, "cursor drift over 20 pauses", ("test_twenty_pauses",)),
    (9, "output renamed / dir deleted", ("test_a_moved_output",)),
    (10, "recover: torn packet, disk full", ("test_recover_drops_a_torn", "test_recover_on_a_full_disk")),
    (11, "leftovers, helper dies with caprec", ("test_recover_removes_only", "test_a_helper_ffmpeg_dies")),
    (12, "closed stdout/stderr, | true", ("test_closed_stdout", "test_closed_stderr", "test_a_reader_that_goes")),
    (13, "long names, widths, deep/FIFO config", ("test_a_255_byte", "test_a_300_byte", "test_a_cursor_log_name",
                                                  "test_absurd_batch",
                                                  "test_a_config_nested", "test_a_fifo")),
    (14, "10,000-capture plan: one probe", ("test_a_batch_plan_probes",)),
)


def hostile_test_paths(tree: Path) -> list[str]:
    """The hostile tests' paths in ``tree`` (relative to it), in the layout that tree has."""
    folder = E2E_TESTS if (tree / E2E_TESTS).is_dir() else FLAT_TESTS
    return [f"{folder}/{name}" for name in HOSTILE_TESTS]


def run_tree(tree: Path, report: Path) -> dict[str, str]:
    """Run the hostile tests in ``tree`` against its own code; {test name: passed|failed|skipped}."""
    argv = [sys.executable, "-m", "pytest", *hostile_test_paths(tree), "-q", "--tb=no", "-p", "no:cacheprovider",
            f"--junitxml={report}"]
    subprocess.run(argv, cwd=tree, env={**os.environ, **source_env(tree)}, check=False, timeout=RUN_TIMEOUT_S,
                   stdout=subprocess.DEVNULL)
    outcomes: dict[str, str] = {}
    if not report.exists():
        return outcomes
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        kinds = {child.tag for child in case}
        outcomes[name] = ("failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds
                          else "passed")
    return outcomes


def item_outcome(outcomes: dict[str, str], names: tuple[str, ...]) -> str:
    """PASS if every matching test passed, FAIL if any failed, else SKIP or missing."""
    found = [result for test, result in outcomes.items() if any(test.startswith(name) for name in names)]
    if not found:
        return "-"
    if "failed" in found:
        return "FAIL"
    return "PASS" if all(result == "passed" for result in found) else "SKIP"


def extract(revision: str, into: Path, *paths: str) -> None:
    """``paths`` (everything if none) of ``revision`` of this repository as plain files in ``into``."""
    archive = subprocess.run(["git", "archive", "--format=tar", revision, *paths], cwd=ROOT, check=True,
                             capture_output=True, timeout=RUN_TIMEOUT_S).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True, timeout=RUN_TIMEOUT_S)


def export(revision: str, into: Path, *, tests_from: str | None = None) -> Path:
    """``revision`` as plain files in ``into``, with the hostile tests and helpers of ``tests_from`` (or this tree)."""
    extract(revision, into)
    if tests_from is not None:
        shutil.rmtree(into / FLAT_TESTS, ignore_errors=True)
        extract(tests_from, into, FLAT_TESTS)
        return into
    for name in TEST_SUPPORT:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, into / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, into / name)
    for ours, theirs in zip(hostile_test_paths(ROOT), hostile_test_paths(into), strict=True):
        (into / theirs).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / ours, into / theirs)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", metavar="REV", help="also run the cases on this revision (e.g. a063500)")
    parser.add_argument("--tests-from", metavar="REV2",
                        help="with --before: run REV with REV2's tests/ (e.g. 7b89c5f for a063500), not this tree's")
    args = parser.parse_args()
    if args.tests_from and not args.before:
        parser.error("--tests-from needs --before")
    with tempfile.TemporaryDirectory(prefix="caprec-hostile-") as temp:
        work = Path(temp)
        before = None
        if args.before:
            old = work / "before"
            old.mkdir()
            before = run_tree(export(args.before, old, tests_from=args.tests_from), work / "before.xml")
        after = run_tree(ROOT, work / "after.xml")
    header = f"{'item':>4}  {'case':<40}" + (f"  {'before':<6}" if before is not None else "") + "  after"
    print(header)
    print("-" * len(header))
    failed = 0
    for number, title, names in ITEMS:
        now = item_outcome(after, names)
        failed += now == "FAIL"
        was = f"  {item_outcome(before, names):<6}" if before is not None else ""
        print(f"{number:>4}  {title:<40}{was}  {now}")
    tests = f" with the tests of {args.tests_from}" if args.tests_from else ""
    print(f"\n{sum(r == 'passed' for r in after.values())} of {len(after)} cases pass on this tree"
          + ("" if before is None else
             f"; {sum(r == 'passed' for r in before.values())} of {len(before)} on {args.before}{tests}"))
    if before is not None and not any(item_outcome(before, names) != "-" for _, _, names in ITEMS):
        print(f"No case could load on {args.before} (its modules lie elsewhere, see above): run it with the "
              "hostile tests written for its layout, --tests-from REV2.")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
