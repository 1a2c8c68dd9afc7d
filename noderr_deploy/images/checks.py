"""Checks over every tier at once: the notes of ``noderr tiers``, ``tiers --check``, and the
collection of every tier's problems that ``build`` and ``--check`` share.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from noderr_deploy.config.rules import DEFAULT_VERSION
from noderr_deploy.images.git import GitInfo, read_git
from noderr_deploy.images.plan import build_args
from noderr_deploy.images.preflight import TierContext, tier_context

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config, Tier


def base_image_notes(config: Config) -> list[str]:
    """``base_image has no effect`` for each tier whose Dockerfile ignores BASE_IMAGE (only
    the Dockerfiles are read; one that cannot be read is left to ``--check``)."""
    from noderr_deploy.errors import ConfigError
    from noderr_deploy.images.dockerfile import read_dockerfile

    notes = []
    for tier in config.tiers:
        try:
            facts = read_dockerfile(tier.dockerfile, tier.build_args)
        except ConfigError:
            continue
        note = facts.base_image_note(tier.name)
        if note is not None:
            notes.append(note)
    return notes


def check_tiers(config: Config, *, git: GitInfo | None = None) -> list[str]:
    """``noderr tiers --check``: exit 2 on anything ``noderr build --all`` (without flags)
    refuses, by the same functions; else the notes to show.

    The build's setting rules first (registry, version, base images, reserved build args
    and labels, the workspace, tier names), then every package directory and Dockerfile,
    then the preflight of every tier's context.
    """
    from noderr_deploy.config.rules import (
        build_problems,
        check_build_settings,
        configured_registry,
        default_version,
    )
    from noderr_deploy.config.schema import check_workspace

    git = git if git is not None else read_git(config.workspace)
    check_build_settings(
        build_problems(
            config,
            config.tiers,
            registry=configured_registry(config),
            version=default_version(git.describe, config.workspace),
        ),
        config,
    )
    check_workspace(config)
    return preflight_tiers(config)


def preflight_tiers(config: Config, tiers: Sequence[Tier] | None = None) -> list[str]:
    """Preflight every tier (``noderr tiers --check``): exit 2 listing every problem of every
    tier at once; else the notes to show (``base_image has no effect``)."""

    def check(tier: Tier) -> TierContext:
        args = build_args(
            tier.name, tier.packages, DEFAULT_VERSION, tier.base_image, configured=tier.build_args
        )
        return tier_context(
            workspace=config.workspace,
            tier=tier.name,
            # As the build: the declared packages and those they depend on.
            packages=tier.closure or tier.packages,
            dockerfile=tier.dockerfile,
            build_args=args,
            include=tier.context_include,
        )

    checked = each_tier(config, config.tiers if tiers is None else tiers, check)
    return [note for c in checked for note in c.notes]


_T = TypeVar("_T")


def each_tier(config: Config, tiers: Sequence[Tier], attempt: Callable[[Tier], _T]) -> list[_T]:
    """``attempt(tier)`` for every tier; exit 2 with the problems of every tier at once (as
    ``tiers --check`` and ``build`` both report their preflight)."""
    from noderr_deploy.errors import ConfigError

    results: list[_T] = []
    errors: list[ConfigError] = []
    for tier in tiers:
        try:
            results.append(attempt(tier))
        except ConfigError as error:
            errors.append(error)
    if len(errors) == 1:
        raise errors[0]  # one tier's problem(s): its own message, as it was found
    if errors:
        problems = [line for e in errors for line in [e.message, *(f"  {d}" for d in e.details)]]
        count = sum(len(e.details) or 1 for e in errors)
        raise ConfigError(
            f"{os.path.normpath(config.path)}: {count} problem(s) in the build contexts",
            details=problems,
        )
    return results
