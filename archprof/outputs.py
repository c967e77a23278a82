"""Writing output files: checked before any work, written atomically, never over what is not a file.

An output path names a regular file (new or existing) or ``-`` for stdout. Anything else —
a directory, a device such as ``/dev/null``, a FIFO, a socket, a symbolic link (live or
dangling), a path ending in ``/`` — is refused up front with one line, because the atomic
write (a temporary file renamed into place) would replace it: run as root, ``--output
/dev/null`` would otherwise swap the device for a regular file. Two outputs of one run
naming the same file are refused too, before minutes of measuring. The write itself goes
through a temporary file in the same folder; an interrupt (SIGINT, SIGTERM: see
``interrupts``) or a failure removes it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
import threading
from pathlib import Path

from .errors import OutputError

STDOUT = "-"
_KINDS = (
    (stat.S_ISLNK, "a symbolic link (give the file it points to)"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def _refuse(path: str, why: str) -> OutputError:
    return OutputError(f"cannot write {path!r}: {why}")


def _not_a_file(path: str) -> str | None:
    """Why ``path`` must not be written over, or None when it is a regular file or does not exist."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        return e.strerror or str(e)
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def check_writable(path: str | os.PathLike) -> None:
    """Refuse an output path up front, before minutes of measuring, if it cannot be written as a file."""
    text = os.fspath(path)
    if text == STDOUT:
        return
    if not text.strip():
        raise OutputError("an output path is empty")
    if text.endswith(("/", os.sep)):
        raise _refuse(text, "it ends in '/': name a file")
    why = _not_a_file(text)
    if why:
        raise _refuse(text, f"it is {why}" if why[0] == "a" else why)
    target = Path(text)
    existing = target.parent if str(target.parent) else Path(".")
    try:
        while not existing.exists():
            existing = existing.parent
    except OSError as e:  # a name too long, a loop of links
        raise _refuse(text, e.strerror or str(e)) from None
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise _refuse(text, f"{str(existing)!r} is not a writable folder")
    if len(target.name.encode()) > 255:
        raise _refuse(text, "the file name is longer than 255 bytes")


def check_outputs(outputs: dict[str, str | None]) -> None:
    """Check every output of one run (option → path), and that no two name the same file or both stdout."""
    seen: dict[str, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        check_writable(path)
        key = STDOUT if path == STDOUT else os.path.realpath(os.path.abspath(path))
        if key in seen:
            where = "stdout" if key == STDOUT else repr(path)
            raise OutputError(f"{seen[key]} and {option} both write to {where}: give each its own file")
        seen[key] = option


@contextlib.contextmanager
def _signals_held():
    """SIGINT and SIGTERM wait (pending) while the temporary is created and its name bound, so that an
    interrupt cannot land between the two and leave a temporary nobody knows to remove."""
    held = {signal.SIGINT, signal.SIGTERM}
    hold = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held) if hold else None
    try:
        yield
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    check_writable(path)  # the path as given: Path() would drop a trailing '/'
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    tmp = None
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with _signals_held():
                # the temporary name stays within NAME_MAX whatever the target's length
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:200]}.", suffix=".tmp", dir=folder)
        except OSError as e:
            raise _refuse(str(target), e.strerror or str(e)) from None
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is an ordinary file
        why = _not_a_file(str(target))  # it may have changed since the check, minutes ago
        if why:
            raise _refuse(str(target), f"it is {why}" if why[0] == "a" else why)
        os.replace(tmp, target)
    except BaseException as e:  # an error, Ctrl-C, SIGTERM (interrupts.Terminated): no temporary left
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _refuse(str(target), e.strerror or str(e)) from None
        raise
    return target
