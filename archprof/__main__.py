"""``python -m archprof`` is the ``archprof`` command."""

from .cli import entry

entry()
