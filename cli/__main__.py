"""``python -m cli``: the same as the ``caprec`` command."""

from cli.entry import main

main()
