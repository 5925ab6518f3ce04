"""Studio recordings: the bundle manifest and recovering interrupted recordings."""
