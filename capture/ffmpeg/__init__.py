"""FFmpeg itself: finding the binary, its argv, the process, its progress, finishing its output, encoders."""
