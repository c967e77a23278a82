"""Ctrl-C and SIGTERM for the command line: one line, exit 130 or 143, nothing half-written.

Two stages. While the program starts (imports, argument parsing) nothing has been written,
so a signal just says so and leaves at once (``os._exit``: no traceback from whatever
import was running). Once a command runs, SIGINT raises ``KeyboardInterrupt`` (Python's
own behaviour) and SIGTERM raises ``Terminated``, so that ``finally`` blocks and
``outputs.write_atomic`` remove their temporary files before ``cli.main`` turns either
into its exit code. Library users (a notebook) never see these handlers: only the
console script and ``python -m archprof`` install them.
"""

from __future__ import annotations

# The C module under `signal`: `import signal` first imports enum, tens of milliseconds in which a Ctrl-C
# would still land in an import. Same functions and constants, as plain ints.
import _signal as signal
import os

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Terminated(BaseException):
    """SIGTERM arrived while a command ran (a BaseException, like KeyboardInterrupt: not an error to catch)."""


def _leave(signum, frame) -> None:
    os.write(2, b"archprof: terminated\n" if signum == signal.SIGTERM else b"archprof: interrupted\n")
    os._exit(EXIT_CODES.get(signum, 128 + signum))


_received: list[int] = []


def received() -> int | None:
    """The signal that arrived while the command ran, if one did (whatever exception it became)."""
    return _received[-1] if _received else None


def _raise(signum, frame) -> None:
    _received.append(signum)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated


def _install(handler) -> None:
    for sig in EXIT_CODES:
        # A signal ignored by whoever started us (a background job of a script, nohup) stays ignored.
        if signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, handler)


def starting() -> None:
    """From the first line of the console script until the command runs: leave at once."""
    _install(_leave)
    # A re-executed archprof (cli.entry's tuned malloc) starts with these signals blocked, so that one
    # arriving while the new interpreter starts waits for this handler instead of interrupting site.py.
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(EXIT_CODES))


def held_across_exec() -> None:
    """Block SIGINT and SIGTERM; the mask survives ``execve`` and ``starting()`` releases it."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, set(EXIT_CODES))


def running() -> None:
    """While the command runs: raise, so that cleanup runs."""
    _install(_raise)
