"""``python -m archprof`` is the ``archprof`` command."""

import sys

from .cli import main

sys.exit(main())
