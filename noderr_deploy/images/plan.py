"""Tier images: what to build (tags, build args, labels, context) and how to judge the result.

Everything here is pure: it takes the resolved configuration and plain values (the version, the
git facts, the clock) and returns plans and verdicts. Talking to the engine is
:mod:`noderr_deploy.images.engine`'s job.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from noderr_deploy.config.rules import (
    DEFAULT_VERSION,
    Source,
    Sourced,
    registry_problem,
    version_problem,
)
from noderr_deploy.errors import UsageError
from noderr_deploy.images.context import BuildContext
from noderr_deploy.images.documents import (
    BuildDocument,
    PlanDocument,
    PushDocument,
    SavedDocument,
)
from noderr_deploy.images.preflight import TierContext, tier_context
from noderr_deploy.units import format_size, iso

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config, Tier

VENDOR = "Noderr"
LARGEST_LAYERS = 5


# -- git facts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GitInfo:
    """What the workspace's git repository says (each None outside a repository)."""

    describe: str | None = None
    revision: str | None = None
    source: str | None = None
    committed: datetime | None = None
    """Time of the HEAD commit: the image's created time unless SOURCE_DATE_EPOCH says."""


Runner = Callable[[Sequence[str], Path], str | None]


def _git(args: Sequence[str], cwd: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = result.stdout.strip()
    return out if result.returncode == 0 and out else None


def read_git(workspace: Path, run: Runner = _git) -> GitInfo:
    """``git describe --tags --always --dirty``, HEAD and the origin URL of ``workspace``."""
    source = run(["config", "--get", "remote.origin.url"], workspace)
    committed = run(["log", "-1", "--format=%ct"], workspace)
    return GitInfo(
        describe=run(["describe", "--tags", "--always", "--dirty"], workspace),
        revision=run(["rev-parse", "HEAD"], workspace),
        # The source label is public: no credentials from an https://user:token@ remote.
        source=public_source(source) if source else None,
        committed=(
            datetime.fromtimestamp(int(committed), tz=UTC)
            if committed and committed.isdigit()
            else None
        ),
    )


_SCP = re.compile(r"^(?:[^@/:\s]+@)?([A-Za-z0-9.-]+\.[A-Za-z]{2,}|localhost):(?!//)([^\s]+)$")


def public_source(url: str) -> str | None:
    """The remote as a public ``org.opencontainers.image.source``, or None.

    User info (``https://user:token@``), query and fragment are dropped, whatever the case
    of the scheme; scp-like remotes (``git@github.com:org/repo.git``) become ``ssh://`` URLs;
    a local path or ``file:`` remote is never a source (it names the builder's disk).
    """
    from urllib.parse import urlsplit, urlunsplit

    text = url.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return None
    scp = _SCP.match(text)
    if scp and "://" not in text:
        text = f"ssh://{scp.group(1)}/{scp.group(2).lstrip('/')}"
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in ("", "file") or not host:
        return None
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    return urlunsplit((scheme, netloc, parts.path, "", ""))


# -- the plan ------------------------------------------------------------------------------


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
        default_version,
        registry_of,
    )
    from noderr_deploy.config.schema import check_workspace

    git = git if git is not None else read_git(config.workspace)
    check_build_settings(
        build_problems(
            config,
            config.tiers,
            registry=registry_of(config),
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


# -- the verdict ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One entry of an image's history."""

    created_by: str
    size: int

    @property
    def instruction(self) -> str:
        """The Dockerfile instruction that made the layer, as a person would write it."""
        return instruction_of(self.created_by)


def instruction_of(created_by: str) -> str:
    """``/bin/sh -c #(nop) COPY dir:ab12 in /app`` -> ``COPY dir:ab12 in /app``; RUN likewise."""
    text = " ".join(created_by.split())
    if text.startswith("/bin/sh -c #(nop) "):
        return text.removeprefix("/bin/sh -c #(nop) ")
    if text.startswith("/bin/sh -c "):
        return "RUN " + text.removeprefix("/bin/sh -c ")
    if text.startswith("|"):  # "|3 PACKAGES=... /bin/sh -c ...": build args used by a RUN
        _, _, rest = text.partition(" /bin/sh -c ")
        return "RUN " + rest if rest else text
    return text or "(base image layer)"


def largest_layers(
    history: Iterable[Mapping[str, Any]], count: int = LARGEST_LAYERS
) -> list[Layer]:
    """The ``count`` largest layers of an ``image.history()`` answer, largest first."""
    layers = [
        Layer(str(entry.get("CreatedBy") or ""), int(entry.get("Size") or 0)) for entry in history
    ]
    return sorted((la for la in layers if la.size > 0), key=lambda la: -la.size)[:count]


def budget_report(tier: str, size: int, budget: int, layers: Sequence[Layer]) -> list[str]:
    """Lines telling an operator what to cut: size vs budget, then the largest layers."""
    lines = [
        f"tier {tier}: image {format_size(size)} ({size} bytes) > budget {format_size(budget)}"
        f" ({budget} bytes), {format_size(size - budget)} over"
    ]
    lines.append(f"{len(layers)} largest layers:")
    for layer in layers:
        instruction = layer.instruction
        if len(instruction) > 100:
            instruction = instruction[:97] + "..."
        lines.append(f"  {format_size(layer.size):>10}  {instruction}")
    return lines


@dataclass
class BuildResult:
    """What building (and maybe pushing) one tier produced."""

    tier: str
    image_id: str
    tags: tuple[str, ...]
    size_bytes: int
    budget_bytes: int
    duration_seconds: float
    layers: list[Layer] = field(default_factory=list)
    """The largest layers, for the over-budget report."""
    pushed: bool = False
    digest: str | None = None
    pushes: list[TagPush] = field(default_factory=list)
    """Per tag, whether it was pushed and the registry's digest (a push can stop part-way)."""
    saved: SavedTarball | None = None

    @property
    def within_budget(self) -> bool:
        return self.size_bytes <= self.budget_bytes

    def document(self) -> BuildDocument:
        """The ``--json`` / ``--metadata-file`` document (camelCase, a stable contract)."""
        return BuildDocument(
            tier=self.tier,
            image_id=self.image_id,
            tags=list(self.tags),
            size_bytes=self.size_bytes,
            budget_bytes=self.budget_bytes,
            within_budget=self.within_budget,
            duration_seconds=round(self.duration_seconds, 3),
            pushed=self.pushed,
            digest=self.digest,
            pushes=[
                PushDocument(tag=p.tag, pushed=p.digest is not None, digest=p.digest)
                for p in self.pushes
            ],
            saved=None
            if self.saved is None
            else SavedDocument(
                path=self.saved.path, sha256=self.saved.sha256, size_bytes=self.saved.size_bytes
            ),
        )


@dataclass(frozen=True)
class TagPush:
    """One tag's push: its digest, or None when it was not (or not fully) pushed."""

    tag: str
    digest: str | None = None


@dataclass(frozen=True)
class SavedTarball:
    """An image written by ``--save``: ``docker load``-able, with its sha256 and size."""

    path: str
    sha256: str
    size_bytes: int


def tarball_name(image: str, version: str, tier: str) -> str:
    """``noderr-node-os-1.4.0-oracle.tar``: the name the network's release uploads use."""
    return f"{image.rsplit('/', 1)[-1]}-{version}-{tier}.tar"
