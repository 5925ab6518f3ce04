"""The shapes of the fixtures that run caprec (``run_caprec``, ``spawn_caprec`` in conftest.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

CAPREC_TIMEOUT_S = 60.0

RunCaprec = Callable[..., "subprocess.CompletedProcess[str]"]
SpawnCaprec = Callable[..., "subprocess.Popen[bytes]"]
