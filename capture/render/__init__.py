"""``caprec render``'s engine: a studio bundle in, a finished video out.

One module per job: :mod:`~caprec.capture.render.spec` (what to render, typed),
:mod:`~caprec.capture.render.bundle` (the bundle read into a timeline: segments
joined, pauses cut, the cursor track and recorded pointer images),
:mod:`~caprec.capture.render.spring` (exact mass-spring-damper cursor smoothing),
:mod:`~caprec.capture.render.zoom` (zoom segments, edit lists, per-frame views),
:mod:`~caprec.capture.render.cursor_art` (the arrow, recorded images, click
effects), :mod:`~caprec.capture.render.card` (padding, background, corners,
shadow), :mod:`~caprec.capture.render.compose` (one frame's transform),
:mod:`~caprec.capture.render.commands` (FFmpeg argv builders),
:mod:`~caprec.capture.render.pipeline` (FFmpeg decode -> numpy -> FFmpeg encode
through tuned pipes) and :mod:`~caprec.capture.render.renderer` (plan, render,
verify, put in place). Entry points: :func:`~caprec.capture.render.renderer.plan_render`
and :func:`~caprec.capture.render.renderer.render`. Nothing here imports ``cli``.
"""

from __future__ import annotations
