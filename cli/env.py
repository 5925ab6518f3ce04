"""The environment a command runs in: streams, variables, terminal facts.

Commands read everything outside themselves through an :class:`Environment`,
so tests hand in their own instead of patching globals.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Environment:
    """Streams and variables for one caprec run."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    stdout_fd: int = 1

    @property
    def stderr_isatty(self) -> bool:
        isatty = getattr(self.stderr, "isatty", None)
        return bool(isatty and isatty())

    @property
    def no_color(self) -> bool:
        """https://no-color.org: any non-empty NO_COLOR turns colour off."""
        return bool(self.environ.get("NO_COLOR"))
