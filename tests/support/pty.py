"""caprec on a real pseudo-terminal (pexpect), the way a user runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def spawn_in_pty(argv: list[str], *, cwd: Path | str, env: dict[str, str], timeout: float,
                 columns: int = 100, rows: int = 24) -> Any:
    """Run ``argv`` on a real pseudo-terminal, the way a user runs it, reading text.

    Undecodable bytes become U+FFFD instead of an error: a Ctrl-C makes the
    kernel flush the terminal's unread output queue (ISIG without NOFLSH),
    which can cut a UTF-8 character in half. A real terminal shows the same
    stray byte; it is not caprec's output, and must not fail the test.
    """
    import pexpect

    return pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=env, dimensions=(rows, columns),
                         encoding="utf-8", codec_errors="replace", timeout=timeout)
