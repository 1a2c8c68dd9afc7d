"""The one compiled part: noderr_deploy._keccak (Keccak-256 buckets in bulk, without the GIL).

Everything else is in pyproject.toml. The extension is optional: where it cannot be built
(no C compiler), noderr falls back to safe-pysha3, correct but slower (noderr_deploy/keccak.py).
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
        )
    ]
)
