"""archprof: what a convolutional network costs, layer by layer, across width and resolution."""

__version__ = "0.1.0"
