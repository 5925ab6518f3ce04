"""One home per test helper, by concern; test modules import them (``from support.media import ffprobe``).

Fixtures stay in ``tests/conftest.py`` (pytest finds them there); everything a test imports lives here:
``paths`` (the repository), ``polling`` (wait_until), ``media`` (fragmented MP4s, ffprobe), ``mp4`` (boxes),
``process`` (/proc, reaping, ``python -m caprec``), ``files`` (sizes, a read-only directory, a small tmpfs),
``pty`` (a real terminal), ``clock`` (a clock a test moves), ``env`` (an environment without CAPREC_* variables),
``xserver`` (a private Xvfb), ``pulse`` (a private PulseAudio), ``run`` (the types of the caprec-running
fixtures), ``recording`` (caprec recording in the background), ``fake_ffmpeg`` (a scripted ffmpeg, and wrappers
around the real one), ``fake_recorder`` (the scripted ffmpeg as a ManagedProcess and Recorder), ``doctor`` (a
machine made of fakes for doctor's checks), ``cursor_logs`` (cursor logs written by hand), ``av_signal`` and
``av_offsets`` (ground truth for A/V sync), ``installed`` (the caprec on PATH, for ``tests/platform``),
``clips`` (replay clips read back: first keyframe, clean decode, A/V, frame hashes).
"""
