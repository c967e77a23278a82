"""``python -m archprof`` is the ``archprof`` command."""

from .console import entry

entry()
