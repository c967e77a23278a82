"""archprof: what a convolutional network costs, layer by layer, across width and resolution.

``archprof.profile(spec, alpha=…, resolution=…)`` returns a ``Profile``;
``archprof.compare(specs, …)`` the grid of configurations as a DataFrame;
``archprof.run_sweep(spec, alphas, resolutions)`` a large grid counted at once. They are
imported on first use, so that ``import archprof`` (and the command line) start fast.
"""

import sys as _sys

# Started as the command line (the console script, or `python -m archprof`, whose package is imported while
# argv[0] is still "-m"): a signal from here on gets archprof's one line, not a traceback from an import.
# A library user's process (a notebook) is left alone.
if _sys.argv and (_sys.argv[0] == "-m" or _sys.argv[0].rsplit("/", 1)[-1] in ("archprof", "archprof.exe")):
    from .interrupts import starting as _starting

    _starting()

__version__ = "0.2.0"
__all__ = ["Comparison", "Profile", "compare", "configuration", "profile", "run_compare", "run_sweep"]


def __getattr__(name):
    if name == "run_sweep":
        from . import sweep

        return sweep.run_sweep
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'archprof' has no attribute {name!r}")
