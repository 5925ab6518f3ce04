"""FFmpeg's stderr: -progress blocks and level-tagged log lines.

The sample is real: ffmpeg 5.1 recording 1 s of x11grab on an Xvfb display
with caprec's flags (``-progress pipe:2 -nostats -loglevel level+info``),
stderr captured verbatim, except: long x264 lines dropped and the last
block's fps, bitrate, drops and speed edited to cover more number shapes.
"""

from __future__ import annotations

import io
import os
import threading

import pytest
from caprec.capture.ffmpeg.progress import LOG_RING_LINES, FFmpegProgress, LogLine, StderrReader

REAL_SAMPLE = """\
[info] ffmpeg stats and -progress period set to 0.5.
[x11grab @ 0x55ccc9286300] [warning] Stream #0: not enough frames to estimate rate; consider increasing probesize
[info] Input #0, x11grab, from ':0.0':
[info]   Duration: N/A, start: 1795849954.697340, bitrate: 884736 kb/s
[info]   Stream #0:0: Video: rawvideo (BGR[0] / 0x524742), bgr0, 1280x720, 884736 kb/s, 30 fps, 1000k tbr, 1000k tbn
[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (rawvideo (native) -> h264 (libx264))
[info] Press [q] to stop, [?] for help
[libx264 @ 0x55ccc92922c0] [info] using cpu capabilities: MMX2 SSE2Fast SSSE3 SSE4.2 AVX FMA3 BMI2 AVX2
[libx264 @ 0x55ccc92922c0] [info] profile High 4:4:4 Predictive, level 3.1, 4:4:4, 8-bit
[info] Output #0, mp4, to 'pipe:1':
[info]   Metadata:
[info]     encoder         : Lavf59.27.100
[info]   Stream #0:0: Video: h264 (avc1 / 0x31637661), yuv444p(tv, progressive), 1280x720, q=2-31, 30 fps, 15360 tbn
[info]     Side data:
[info]       cpb: bitrate max/min/avg: 0/0/0 buffer size: 0 vbv_delay: N/A
frame=1
fps=0.00
stream_0_0_q=20.0
bitrate=93784.6kbits/s
total_size=762
out_time_us=65
out_time_ms=65
out_time=00:00:00.000065
dup_frames=0
drop_frames=0
speed=N/A
progress=continue
frame=20
fps=0.00
stream_0_0_q=19.0
bitrate=   9.6kbits/s
total_size=762
out_time_us=633398
out_time_ms=633398
out_time=00:00:00.633398
dup_frames=1
drop_frames=0
speed=1.19x
progress=continue
[info] frame=   30 fps=0.0 q=19.0 Lsize=       4kB time=00:00:00.96 bitrate=  32.8kbits/s dup=1 drop=0 speed=1.04x
frame=30
fps=29.5
stream_0_0_q=19.0
bitrate=  12.4kbits/s
total_size=3962
out_time_us=966732
out_time_ms=966732
out_time=00:00:00.966732
dup_frames=1
drop_frames=2
speed=0.988x
progress=end
[info] video:3kB audio:0kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: 38.048782%
[libx264 @ 0x55ccc92922c0] [info] frame I:1     Avg QP: 5.02  size:   610
[libx264 @ 0x55ccc92922c0] [info] kb/s:18.00
"""

# ffmpeg 5.1 with x11grab on a display that does not exist (verbatim, display number changed).
BAD_DISPLAY = """\
[x11grab @ 0x55617d6f2080] [error] Cannot open display :99, error 1.
[error] :99.0: Input/output error
"""

NA_BLOCK = """\
frame=0
fps=N/A
stream_0_0_q=0.0
bitrate=N/A
total_size=N/A
out_time_us=N/A
out_time_ms=N/A
out_time=N/A
dup_frames=0
drop_frames=0
speed=N/A
progress=continue
"""


def read(text: str) -> tuple[StderrReader, list[FFmpegProgress], list[LogLine]]:
    blocks: list[FFmpegProgress] = []
    logs: list[LogLine] = []
    reader = StderrReader(io.BytesIO(), on_progress=blocks.append, on_log=logs.append)
    reader.feed(text.splitlines(keepends=True))
    return reader, blocks, logs


def test_real_sample_progress_blocks() -> None:
    reader, blocks, _ = read(REAL_SAMPLE)
    assert blocks == [
        FFmpegProgress(frame=1, fps=0.0, bitrate_kbps=93784.6, total_size=762, out_time_s=65e-6,
                       dup_frames=0, drop_frames=0, speed=None, ended=False),
        FFmpegProgress(frame=20, fps=0.0, bitrate_kbps=9.6, total_size=762, out_time_s=0.633398,
                       dup_frames=1, drop_frames=0, speed=1.19, ended=False),
        FFmpegProgress(frame=30, fps=29.5, bitrate_kbps=12.4, total_size=3962, out_time_s=0.966732,
                       dup_frames=1, drop_frames=2, speed=0.988, ended=True),
    ]
    assert reader.state.progress is blocks[-1]


def test_real_sample_log_lines() -> None:
    reader, _, logs = read(REAL_SAMPLE)
    # The frame-rate guess is a settled question (HARMLESS_WARNINGS): not a warning.
    assert logs == []
    assert reader.state.warnings == 0
    assert reader.last_lines() == ()
    # Info lines (the input dump, the final "frame=" stats line) stay out of the ring.
    assert list(reader.state.ring) == []


def test_real_sample_input_start_is_the_first_frames_wall_clock() -> None:
    reader, _, _ = read(REAL_SAMPLE)
    assert reader.state.input_start == pytest.approx(1795849954.697340)


def test_input_start_takes_the_first_duration_line_only() -> None:
    reader, _, _ = read("[info]   Duration: N/A, start: -0.023220, bitrate: N/A\n"
                        "[info]   Duration: 00:00:05.00, start: 12.000000, bitrate: 3 kb/s\n")
    assert reader.state.input_start == pytest.approx(-0.02322)


def test_no_input_start_without_a_duration_line() -> None:
    reader, _, _ = read(NA_BLOCK)
    assert reader.state.input_start is None


def test_bad_display_error_lines_keep_their_order_and_drop_the_address() -> None:
    reader, blocks, logs = read(BAD_DISPLAY)
    assert blocks == []
    assert [entry.level for entry in logs] == ["error", "error"]
    assert reader.last_lines() == ("[x11grab] Cannot open display :99, error 1.", ":99.0: Input/output error")
    assert reader.last_lines(1) == (":99.0: Input/output error",)
    assert reader.state.warnings == 2


def test_not_applicable_values_are_none() -> None:
    _, blocks, _ = read(NA_BLOCK)
    assert blocks == [FFmpegProgress(frame=0, fps=None, bitrate_kbps=None, total_size=None, out_time_s=0.0,
                                     speed=None, ended=False)]


def test_an_unfinished_block_is_not_published() -> None:
    reader, blocks, _ = read(NA_BLOCK + "frame=7\nfps=30.0\n")
    assert len(blocks) == 1
    assert reader.state.progress.frame == 0


def test_crlf_lines_and_blank_lines() -> None:
    _, blocks, logs = read("frame=5\r\nspeed=1.0x\r\n\r\nprogress=continue\r\n[warning] slow disk\r\n")
    assert [(b.frame, b.speed) for b in blocks] == [(5, 1.0)]
    assert logs == [LogLine("warning", "slow disk")]


def test_unknown_keys_and_unlevelled_lines_are_info() -> None:
    reader, blocks, logs = read("key=value\nplain text from a library\n[fatal] out of memory\n")
    assert blocks == []
    assert logs == [LogLine("fatal", "out of memory")]
    assert reader.last_lines(levels=frozenset({"info"})) == ()


def test_ring_is_bounded_and_last_lines_are_the_newest() -> None:
    lines = "".join(f"[mp4 @ 0x1] [warning] warning {n}\n" for n in range(LOG_RING_LINES + 36))
    reader, _, logs = read(lines + "[verbose] chatter\n")
    assert len(logs) == LOG_RING_LINES + 36  # every warning reached the callback
    assert reader.state.warnings == LOG_RING_LINES + 36
    assert len(reader.state.ring) == LOG_RING_LINES
    assert reader.last_lines(3) == tuple(f"[mp4] warning {n}" for n in range(LOG_RING_LINES + 33,
                                                                              LOG_RING_LINES + 36))
    newest = reader.last_lines(1000)
    assert len(newest) == LOG_RING_LINES - 1  # the verbose line holds a slot but is filtered out
    assert newest[0] == "[mp4] warning 37"
    assert reader.last_lines(5, levels=frozenset({"verbose"})) == ("chatter",)


def test_reader_thread_parses_a_real_pipe() -> None:
    read_fd, write_fd = os.pipe()
    blocks: list[FFmpegProgress] = []
    threads: set[str] = set()

    def on_progress(progress: FFmpegProgress) -> None:
        threads.add(threading.current_thread().name)
        blocks.append(progress)

    def writer() -> None:
        with os.fdopen(write_fd, "wb") as stream:
            for line in (REAL_SAMPLE + BAD_DISPLAY).encode().splitlines(keepends=True):
                stream.write(line)
                stream.flush()

    with os.fdopen(read_fd, "rb") as source:
        reader = StderrReader(source, on_progress=on_progress)
        feeder = threading.Thread(target=writer)
        with reader:
            feeder.start()
        feeder.join()
        assert reader.join(timeout=5.0)
    assert [b.frame for b in blocks] == [1, 20, 30]
    assert threads == {"caprec-ffmpeg-stderr"}
    assert reader.last_lines(2) == ("[x11grab] Cannot open display :99, error 1.", ":99.0: Input/output error")


def test_input_start_is_the_screens_when_the_sound_opens_first() -> None:
    """Wall-clock audio inputs come before the screen in the argv: their start is not the video's t = 0."""
    reader, _, _ = read("[info] Input #0, pulse, from 'mic':\n"
                        "[info]   Duration: N/A, start: 1795849952.100000, bitrate: 1536 kb/s\n"
                        "[info] Input #1, alsa, from 'hw:0':\n"
                        "[info]   Duration: N/A, start: 1795849953.400000, bitrate: 1536 kb/s\n"
                        "[info] Input #2, x11grab, from ':9.0':\n"
                        "[info]   Duration: N/A, start: 1795849954.697340, bitrate: 1536 kb/s\n")
    assert reader.state.input_start == pytest.approx(1795849954.697340)
