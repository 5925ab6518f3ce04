"""Replay mode: the in-memory ring, saving it, its cursor, its session and runtime file."""
