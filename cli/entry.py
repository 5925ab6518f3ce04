"""The ``caprec`` console script: fast in, fast out.

* ``caprec --version`` is answered before importing anything heavy (Typer,
  rich and the commands take ~0.15 s of CPU to import; Typer's coercion
  adds pydantic): scripts, bug reports and CI checks should not pay for them.
* On the way out, once the command has finished and its output is flushed,
  the process exits at once: tearing down the interpreter (every module,
  pydantic's schemas) took 0.2-0.3 s after each recording, between the
  file being finished and the shell prompt. Every file caprec writes is
  closed (and fsynced where it matters) by the command itself, and every
  thread is stopped and joined by its owner before the command returns.

Everything else goes to :func:`cli.app.main`.
"""

from __future__ import annotations

import contextlib
import os
import sys

VERSION_ARGS = (["--version"],)


def main() -> None:
    """Console-script entry point (see :func:`cli.app.main`)."""
    if sys.argv[1:] in VERSION_ARGS:
        from capture import __version__

        sys.stdout.write(f"caprec {__version__}\n")
        _exit_now(0)
    from cli.app import main as app_main

    try:
        app_main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    _exit_now(code)


def _exit_now(code: object) -> None:
    """Flush the standard streams and end the process without interpreter teardown (``sys.exit`` semantics)."""
    if code is not None and not isinstance(code, int):
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"{code}\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code or 0)
