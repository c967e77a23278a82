"""The ``archprof`` console script: start-up signal handlers first, then the command line.

Imported only by the console script (and ``python -m archprof``), never by the library,
so that a Ctrl-C or SIGTERM while the imports run says one line and exits 130/143
instead of a traceback from whichever import it landed in.
"""

from .interrupts import starting

starting()


def entry() -> None:
    from .cli import entry as run

    run()
