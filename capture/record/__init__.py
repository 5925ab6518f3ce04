"""Recording: one segment (the recorder), the session of segments, the pipe pump, the frame budget."""
