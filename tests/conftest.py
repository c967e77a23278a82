import textwrap

import pytest

from archprof.cli import main
from archprof.parse import parse_spec

HEADER = """\
# Tiny
- input: 32 × 32 × 3
- classes: 10
- conv: batch norm, relu, no bias
- fc: bias, relu
"""


def spec_from(table: str, header: str = HEADER, path: str = "tiny.md"):
    """Parse a spec made of ``header`` and the dedented ``table``."""
    return parse_spec(header + "\n" + textwrap.dedent(table), path, "tiny")


def as_from_a_terminal() -> None:
    """``preexec_fn`` of a child a test sends SIGINT or SIGTERM: their default dispositions, as a shell's
    foreground command has. A test run started in the background (``cmd &`` in a script: bash without job
    control) ignores SIGINT, children inherit that, and archprof rightly leaves an ignored SIGINT ignored,
    so without this the interrupt tests would test nothing (or fail)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture
def run(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr); argparse's exits count as exit codes."""

    def _run(*argv):
        try:
            code = main(list(argv))
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        return code, out, err

    return _run


# Hypothesis: CI runs the long profile (5,000 cases per property: spec text, command lines); locally
# fewer, and HYPOTHESIS_PROFILE=long (or soak, 20,000) by hand.
from hypothesis import settings as _hsettings  # noqa: E402

_hsettings.register_profile("long", max_examples=5000, deadline=None, derandomize=False)
_hsettings.register_profile("dev", max_examples=300, deadline=None)
_hsettings.register_profile("soak", max_examples=20000, deadline=None)
_os = __import__("os")
_hsettings.load_profile(_os.environ.get("HYPOTHESIS_PROFILE") or ("long" if _os.environ.get("CI") else "dev"))

# Latency tables live in a per-user data directory; the tests get an empty one of their own, so that a
# table the developer built never changes what a test sees (subprocesses inherit it).
_os.environ["ARCHPROF_DATA_DIR"] = __import__("tempfile").mkdtemp(prefix="archprof-test-data-")
