"""``caprec render``'s engine: a studio bundle in, a finished video out.

One module per job: :mod:`~capture.render.spec` (what to render, typed),
:mod:`~capture.render.bundle` (the bundle read into a timeline: segments
joined, pauses cut, the cursor track and recorded pointer images),
:mod:`~capture.render.spring` (exact mass-spring-damper cursor smoothing),
:mod:`~capture.render.zoom` (zoom segments, edit lists, per-frame views),
:mod:`~capture.render.cursor_art` (the arrow, recorded images, click
effects), :mod:`~capture.render.card` (padding, background, corners,
shadow), :mod:`~capture.render.compose` (one frame's transform),
:mod:`~capture.render.commands` (FFmpeg argv builders),
:mod:`~capture.render.pipeline` (FFmpeg decode -> numpy -> FFmpeg encode
through tuned pipes) and :mod:`~capture.render.renderer` (plan, render,
verify, put in place). Entry points: :func:`~capture.render.renderer.plan_render`
and :func:`~capture.render.renderer.render`. Nothing here imports ``cli``.
"""

from __future__ import annotations
