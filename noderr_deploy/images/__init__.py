"""Tier images: the build context (``context``), what to build and its labels (``plan``),
and the Docker engine (``engine``).

Nothing is imported here: the docker SDK loads only when a build runs.
"""
