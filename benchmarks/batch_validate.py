"""How long caprec takes to validate a batch plan of many captures (issue 9 item 14: 10,000 in < 2 s).

Writes a plan of N test-pattern captures to a temporary directory, then
times what ``caprec batch`` does before the first recording: parse the
plan, resolve and check every capture (FFmpeg is probed once). Prints the
figure; nothing is recorded.

    python3 benchmarks/batch_validate.py            # 10,000 captures
    python3 benchmarks/batch_validate.py --captures 300
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from caprec.commands.batch import resolve_captures
from caprec.env import Environment
from caprec.settings.batch_plan import load_plan

DEFAULT_CAPTURES = 10_000
TARGET_S = 2.0


def write_plan(directory: Path, captures: int) -> Path:
    lines = ["[defaults]", 'source = "test"', 'duration = "1"', ""]
    for index in range(captures):
        lines += ["[[capture]]", f'output = "clip-{index}.mp4"', ""]
    path = directory / "plan.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captures", type=int, default=DEFAULT_CAPTURES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="caprec-batch-bench-") as temp:
        directory = Path(temp)
        plan_path = write_plan(directory, args.captures)
        env = Environment(environ={"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(directory)})
        started = time.perf_counter()
        plan = load_plan(plan_path)
        parsed = time.perf_counter()
        resolved, problems, code = resolve_captures(env, plan, ffmpeg_path=None, quiet=True)
        done = time.perf_counter()
    if problems or len(resolved) != args.captures:
        print(f"validation failed ({code}): {problems[:3]}", file=sys.stderr)
        return 1
    total = done - started
    print(f"captures          {args.captures}")
    print(f"parse plan        {parsed - started:.3f} s")
    print(f"resolve + check   {done - parsed:.3f} s  ({(done - parsed) / args.captures * 1e6:.0f} us per capture)")
    print(f"total             {total:.3f} s  (target < {TARGET_S:g} s for 10,000: "
          f"{'met' if total * DEFAULT_CAPTURES / args.captures < TARGET_S else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
