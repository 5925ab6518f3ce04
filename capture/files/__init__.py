"""Files the engine writes safely: atomic replace, private temp files, locks, text files, disk space."""
