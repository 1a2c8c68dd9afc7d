"""The compiled parts: noderr_deploy._keccak (Keccak-256 buckets in bulk, without the GIL)
and noderr_deploy._survey (the counts the health reader judges a chunk by, in one pass).

Everything else is in pyproject.toml. Both extensions are optional: where they cannot be
built (no C compiler), noderr falls back to pure Python, correct but slower
(noderr_deploy/keccak.py: safe-pysha3; noderr_deploy/health/survey.py: bytes methods).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "noderr_deploy._keccak",
            ["noderr_deploy/_keccak.c"],
            depends=["noderr_deploy/_keccak_round.h"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
        Extension(
            "noderr_deploy._survey",
            ["noderr_deploy/_survey.c"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
    ]
)
