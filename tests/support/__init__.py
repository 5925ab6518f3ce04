"""One home per test helper, by concern; test modules import them (``from support.media import ffprobe``).

Fixtures stay in ``tests/conftest.py`` (pytest finds them there); everything a test imports lives here:
``paths`` (the repository), ``polling`` (wait_until), ``media`` (ffprobe), ``mp4`` (top-level boxes),
``process`` (/proc, reaping, ``python -m caprec``), ``files``, ``pty`` (a real terminal), ``clock`` (a clock a
test moves), ``env`` (an environment without CAPREC_* variables), ``xserver`` (a private Xvfb), ``run``
(the types of the caprec-running fixtures) and ``fake_ffmpeg`` (a scripted ffmpeg, and wrappers around the real one).
"""
