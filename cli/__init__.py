"""caprec's command-line layer: the Typer app, the rich display, exit codes."""
