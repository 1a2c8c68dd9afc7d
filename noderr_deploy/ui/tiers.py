"""The ``noderr tiers`` table: each tier, its packages, and why the others came in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from noderr_deploy.ui.output import Output
from noderr_deploy.units import format_size

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config, Tier


def pulled_in(tier: Tier) -> str:
    """``core (via market-data), ml-client (via ml)``: each package the workspace closure
    added, with the declared (or pulled-in) package whose package.json needs it."""
    extra = [p for p in tier.closure if p in tier.dependency_of]
    if not extra:
        return "-"
    return ", ".join(f"{p} (via {tier.dependency_of[p]})" for p in extra)


def show_tiers(out: Output, config: Config) -> None:
    rows = [
        (
            t.name,
            t.extends or "-",
            t.beacon_tier,
            f"{len(t.packages)}: {', '.join(t.packages)}",
            pulled_in(t),
            format_size(t.size_budget_bytes),
            _relative(t, config),
            t.base_image,
        )
        for t in config.tiers
    ]
    out.table(
        (
            "tier",
            "extends",
            "beacon tier",
            "packages",
            "pulled in",
            "size budget",
            "dockerfile",
            "base image",
        ),
        rows,
        title=f"Tiers from {config.path}",
    )


def _relative(tier: Tier, config: Config) -> str:
    try:
        return str(tier.dockerfile.relative_to(config.path.parent))
    except ValueError:
        return str(tier.dockerfile)
