"""The ``caprec`` console script: fast in, fast out.

* ``caprec --version`` is answered before importing anything heavy (Typer,
  rich and the commands take ~0.15 s of CPU to import; Typer's coercion
  adds pydantic): scripts, bug reports and CI checks should not pay for them.
* A help page (``caprec --help``, ``caprec record --help``) that was printed
  before for the same terminal by the same code is printed from the cache
  (:mod:`caprec.ui.helpcache`), again without importing Typer or rich; a
  fresh page is kept for the next time.
* On the way out, once the command has finished and its output is flushed,
  the process exits at once: tearing down the interpreter (every module,
  pydantic's schemas) took 0.2-0.3 s after each recording, between the
  file being finished and the shell prompt. Every file caprec writes is
  closed (and fsynced where it matters) by the command itself, and every
  thread is stopped and joined by its owner before the command returns.

Everything else goes to :func:`caprec.app.main`.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from typing import NoReturn

VERSION_ARGS = (["--version"],)
HELP_OPTIONS = ("--help", "-h")


def main() -> None:
    """Console-script entry point (see :func:`caprec.app.main`)."""
    # Starting up allocates only what lives as long as the process (modules, classes, Typer's command): the
    # cyclic collector, run over and over by those allocations, finds nothing and cost ~5% of the CPU before
    # FFmpeg starts. :func:`caprec.app.main` turns it back on once the command is built.
    gc.disable()
    args = sys.argv[1:]
    if args in VERSION_ARGS:
        from caprec.capture import __version__

        sys.stdout.write(f"caprec {__version__}\n")
        _exit_now(0)
    if not args or args[-1] not in HELP_OPTIONS or sys.stdout is None or sys.stderr is None:
        _exit_now(_run_app())  # not a help page (checked without importing the cache for every recording)
    from caprec.ui.helpcache import HelpCache, Tee, is_help_request

    if not is_help_request(args):
        _exit_now(_run_app())
    cache = HelpCache.for_request(args, os.environ, sys.stdout)
    page = cache.get()
    if page is not None:
        sys.stdout.write(page)
        _exit_now(0)
    out, err = Tee(sys.stdout), Tee(sys.stderr)
    sys.stdout, sys.stderr = out, err
    code = _run_app()
    sys.stdout, sys.stderr = out.stream, err.stream
    if code in (0, None) and not err.text():
        cache.put(out.text())
    _exit_now(code)


def _run_app() -> object:
    """Run the app; its exit code (``sys.exit`` semantics)."""
    from caprec.app import main as app_main

    try:
        app_main()
    except SystemExit as exc:
        return exc.code
    return 0


def _exit_now(code: object) -> NoReturn:
    """Flush the standard streams and end the process without interpreter teardown (``sys.exit`` semantics)."""
    if code is not None and not isinstance(code, int):
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"{code}\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code or 0)
