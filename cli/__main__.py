"""``python -m caprec``: the same as the ``caprec`` command."""

from caprec.entry import main

main()
