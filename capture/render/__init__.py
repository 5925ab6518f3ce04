"""``caprec render``'s engine: a studio bundle in, a finished video out.

One module per job: :mod:`spec` (what to render), :mod:`bundle` (reading
the bundle into a timeline), :mod:`spring` (cursor smoothing),
:mod:`zoom` (zoom segments and per-frame views), :mod:`cursor_art` (the
pointer and click effects), :mod:`compose` (one frame's transform),
:mod:`pipeline` (FFmpeg decode -> numpy -> FFmpeg encode), :mod:`plan`
(sizes and the FFmpeg commands). Nothing here imports ``cli``.
"""

from __future__ import annotations
