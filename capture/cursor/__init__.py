"""The cursor log: its format, writer, reader and the pynput listener; cursor shapes and targets."""
