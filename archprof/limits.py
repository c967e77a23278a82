"""The ranges of every number a user gives, in one place: the command line parses with them, the API checks them.

Each bound is far beyond real use and keeps the arithmetic sane; counts are Python ints
anyway (``costs.exact``), so the bounds are about clear errors, not overflow.
"""

from __future__ import annotations

MAX_ALPHA = 100.0  # far wider than any real network; keeps channel counts sane
MAX_RHO = 100.0
MAX_DIM = 1_000_000  # a channel count or a class count in a spec
MAX_RESOLUTION = 100_000  # pixels on a side
MAX_BATCH = 1_000_000
MAX_THREADS = 1024
MAX_RUN_TIME = 600.0  # seconds of timing for one configuration
MAX_ROUNDS = 1000
MAX_DIGITS = 24  # characters of a number on the command line: no 4,300-digit integers reach int()
