"""``python -m cli``: the same as the ``caprec`` command."""

from cli.app import main

main()
