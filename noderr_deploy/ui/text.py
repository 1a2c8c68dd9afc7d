"""Text from outside, made safe to show a person (see :mod:`noderr_deploy.text`).

The one escaper lives in the base layer, where :mod:`noderr_deploy.redact` and the chain
code use it too; this module re-exports its names so that the ui modules and commands
that import them from here need not change.
"""

from __future__ import annotations

from noderr_deploy.text import TRUNCATE_AT, one_line, printable

__all__ = ["TRUNCATE_AT", "one_line", "printable"]
