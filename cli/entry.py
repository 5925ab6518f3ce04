"""The ``caprec`` console script: answers ``caprec --version`` before importing anything heavy.

Typer, rich and the commands take ~0.15 s of CPU to import; a version
check (scripts, bug reports, ``doctor`` in CI) should not pay for them.
Everything else goes to :func:`cli.app.main`.
"""

from __future__ import annotations

import sys

VERSION_ARGS = (["--version"],)


def main() -> None:
    """Console-script entry point (see :func:`cli.app.main`)."""
    if sys.argv[1:] in VERSION_ARGS:
        from capture import __version__

        sys.stdout.write(f"caprec {__version__}\n")
        sys.exit(0)
    from cli.app import main as app_main

    app_main()
