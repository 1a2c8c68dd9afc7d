"""Tier images: what to build (tags, build args, labels, context), decided before Docker.

Everything here is pure: it takes the resolved configuration and plain values (the version, the
git facts, the clock) and returns plans. Judging the built image is
:mod:`noderr_deploy.images.results`'s, talking to the engine
:mod:`noderr_deploy.images.engine`'s.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from noderr_deploy.config.rules import (
    Source,
    Sourced,
    registry_problem,
    version_problem,
)
from noderr_deploy.errors import UsageError
from noderr_deploy.images.documents import PlanDocument
from noderr_deploy.images.git import GitInfo
from noderr_deploy.images.preflight import tier_context
from noderr_deploy.images.tarball import BuildContext
from noderr_deploy.units import iso

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config, Tier

VENDOR = "Noderr"


def check_version(
    version: str, tier_names: Iterable[str] = (), source: Source | None = None
) -> str:
    """``version`` if ``{version}-{tier}`` is a valid image tag for every tier, else exit 2."""
    problem = version_problem(Sourced(version, source or Source.flag("--version")), [*tier_names])
    if problem:
        raise UsageError(problem)
    return version


def check_registry(registry: str, source: Source | None = None) -> str:
    """``registry`` without a trailing '/', if it is host[:port][/path]; else exit 2."""
    problem = registry_problem(Sourced(registry, source or Source.flag("--registry")))
    if problem:
        raise UsageError(problem)
    return registry.strip().rstrip("/")


def image_tags(registry: str, image: str, version: str, tier: str) -> tuple[str, str]:
    """The versioned tag and the ``latest-<tier>`` tag, as the network's images are named."""
    repository = f"{registry}/{image}" if registry else image
    return f"{repository}:{version}-{tier}", f"{repository}:latest-{tier}"


def split_reference(reference: str) -> tuple[str, str]:
    """``registry/repo:tag`` -> (``registry/repo``, ``tag``); the port colon is not a tag."""
    repository, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        return reference, "latest"
    return repository, tag


@dataclass(frozen=True)
class BuildPlan:
    """Everything needed to build one tier's image, decided before Docker is contacted."""

    tier: str
    packages: tuple[str, ...]
    tags: tuple[str, str]
    build_args: dict[str, str]
    labels: dict[str, str]
    dockerfile: Path
    context: BuildContext
    budget_bytes: int
    notes: tuple[str, ...] = ()
    """What the operator should know, e.g. that ``base_image`` has no effect."""

    def document(self) -> PlanDocument:
        """The ``--dry-run --json`` document (camelCase, a stable contract)."""
        return PlanDocument(
            tier=self.tier,
            tags=list(self.tags),
            packages=list(self.packages),
            build_args=dict(self.build_args),
            labels=dict(self.labels),
            dockerfile=os.path.normpath(str(self.dockerfile)),
            context_files=self.context.file_count,
            context_bytes=self.context.tar_bytes,
            budget_bytes=self.budget_bytes,
            notes=list(self.notes),
        )


def build_args(
    tier: str,
    packages: Sequence[str],
    version: str,
    base_image: str,
    *,
    configured: Mapping[str, str] = {},
    overrides: Mapping[str, str] = {},
) -> dict[str, str]:
    """Build args: tiers.yaml's, then ``--build-arg``'s, then the four noderr always sets
    (:func:`~noderr_deploy.config.rules.build_problems` refuses those in the others)."""
    return {
        **configured,
        **overrides,
        "TIER": tier,
        "PACKAGES": " ".join(packages),
        "VERSION": version,
        "BASE_IMAGE": base_image,
    }


def image_labels(
    *,
    image: str,
    tier: str,
    beacon_tier: int,
    packages: Sequence[str],
    version: str,
    created: datetime,
    git: GitInfo,
    configured: Mapping[str, str] = {},
    closure: Sequence[str] | None = None,
) -> dict[str, str]:
    """OCI labels, the ``xyz.noderr.*`` labels, and the tier's labels from tiers.yaml
    (:func:`~noderr_deploy.config.rules.build_problems` refuses reserved ones there)."""
    labels = {
        "org.opencontainers.image.title": f"{image}-{tier}",
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.created": iso(created),
        "org.opencontainers.image.vendor": VENDOR,
    }
    if git.revision:
        labels["org.opencontainers.image.revision"] = git.revision
    if git.source:
        labels["org.opencontainers.image.source"] = git.source
    return {
        **labels,
        **configured,
        "xyz.noderr.tier": tier,
        "xyz.noderr.packages": ",".join(packages),
        # The declared packages plus the workspace packages they depend on: what is inside.
        "xyz.noderr.closure": ",".join(closure if closure is not None else packages),
        "xyz.noderr.beacon-tier": str(beacon_tier),
    }


@dataclass(frozen=True)
class BuildSettings:
    """The command's settings after precedence (flag > env > tiers.yaml > default)."""

    registry: str
    version: str
    base_image: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)


def plan_build(
    config: Config,
    tier: Tier,
    settings: BuildSettings,
    *,
    git: GitInfo,
    now: datetime | None = None,
    clock: Callable[[], datetime],
) -> BuildPlan:
    """The plan of ``tier`` (a resolved :class:`~noderr_deploy.config.schema.Tier`) of ``config``.

    ``now`` (SOURCE_DATE_EPOCH) is the created label's time, else the HEAD commit's time, else
    ``clock()``: a label that changed on every build would defeat the layer cache of every step
    after it, and the commit time makes the label reproducible.
    """
    created = now or git.committed or clock()
    base_image = settings.base_image or tier.base_image
    args = build_args(
        tier.name,
        tier.packages,
        settings.version,
        base_image,
        configured=tier.build_args,
        overrides=settings.build_args,
    )
    checked = tier_context(
        workspace=config.workspace,
        tier=tier.name,
        # The declared packages and the workspace packages they depend on.
        packages=tier.closure or tier.packages,
        dockerfile=tier.dockerfile,
        build_args=args,
        include=tier.context_include,
    )
    return BuildPlan(
        tier=tier.name,
        packages=tuple(tier.packages),
        tags=image_tags(settings.registry, config.image, settings.version, tier.name),
        build_args=args,
        labels=image_labels(
            image=config.image,
            tier=tier.name,
            beacon_tier=tier.beacon_tier,
            packages=tier.packages,
            version=settings.version,
            created=created,
            git=git,
            configured=tier.labels,
            closure=tier.closure or tier.packages,
        ),
        dockerfile=tier.dockerfile,
        context=checked.context,
        budget_bytes=tier.size_budget_bytes,
        notes=checked.notes,
    )


def select_tiers(config: Config, names: Sequence[str], all_tiers: bool) -> list[Tier]:
    """The tiers to build, in ``extends`` order (parents first) whatever the flags' order."""
    if all_tiers and names:
        raise UsageError("give either --tier or --all, not both")
    if all_tiers:
        return list(config.tiers)
    if not names:
        known = ", ".join(t.name for t in config.tiers)
        raise UsageError(f"name the tiers to build with --tier, or use --all (known: {known})")
    wanted = {config.tier(name).name for name in names}  # unknown names: exit 2 listing all
    return [t for t in config.tiers if t.name in wanted]
