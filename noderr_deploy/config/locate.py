"""Finding tiers.yaml: ``--config`` / ``NODERR_CONFIG``, else the nearest one upwards."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from noderr_deploy.errors import ConfigError

if TYPE_CHECKING:
    pass


CONFIG_NAME = "tiers.yaml"


def discover_config(explicit: str | Path | None = None, cwd: Path | None = None) -> Path:
    """Find tiers.yaml: ``--config`` / ``NODERR_CONFIG``, then ``./tiers.yaml``, then parents."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found")
        return path
    start = (cwd or Path.cwd()).resolve()
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_NAME} in {start} or any parent directory"
        " (point to one with --config or NODERR_CONFIG)"
    )


def find_config(explicit: str | Path | None = None, cwd: Path | None = None) -> Path | None:
    """Like :func:`discover_config`, but None when no file was named and none is found."""
    try:
        return discover_config(explicit, cwd)
    except ConfigError:
        if explicit:
            raise
        return None
