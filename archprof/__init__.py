"""archprof: what a convolutional network costs, layer by layer, across width and resolution.

``archprof.profile(spec, alpha=…, resolution=…)`` returns a ``Profile``;
``archprof.compare(specs, …)`` the grid of configurations as a DataFrame;
``archprof.run_sweep(spec, alphas, resolutions)`` a large grid counted at once. They are
imported on first use, so that ``import archprof`` (and the command line) start fast.
"""

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
