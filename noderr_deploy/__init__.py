"""noderr-deploy: the operator toolkit for the Noderr node network."""

__version__ = "0.1.0"
