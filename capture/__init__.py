"""caprec's recording engine.

The engine finds and drives FFmpeg, pumps its output to disk, and records the
pointer beside it. It never imports the command-line layer (``cli``), Typer or
rich: it reports through callbacks and return values and raises
:class:`caprec.capture.errors.CaptureError` subclasses.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
