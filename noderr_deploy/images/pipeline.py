"""``noderr build`` as one core function: plan, build, judge, tag, save, push.

The command turns flags into a :class:`BuildRequest`, calls :func:`plan_request` (and, unless
``--dry-run``, :func:`run_build` with the engine client and a progress sink) and renders the
:class:`BuildOutcome`. Order matters for what an operator can trust:

1. every tier is planned and preflighted before the engine is contacted;
2. every tier is built untagged and judged against its size budget;
3. only when every tier is good (or ``--allow-over-budget``) are tags moved: a failed build or
   an over-budget image leaves the local ``latest-<tier>`` where it was;
4. ``--save`` exports, then ``--push`` pushes each tag and checks that the registry got the
   image built. A push that fails part-way still yields the results (what was pushed, with
   its digest) and the error, so that ``--json`` and the metadata file are written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from noderr_deploy.config.rules import (
    Source,
    Sourced,
    build_problems,
    check_build_settings,
    configured_registry,
    default_version,
)
from noderr_deploy.config.schema import check_workspace
from noderr_deploy.errors import BudgetExceeded, NoderrError, UsageError
from noderr_deploy.images.checks import each_tier
from noderr_deploy.images.documents import SavedTarball
from noderr_deploy.images.engine import BuildEvent
from noderr_deploy.images.git import GitInfo, read_git
from noderr_deploy.images.plan import BuildPlan, BuildSettings, plan_build, select_tiers
from noderr_deploy.images.push import PushEvent
from noderr_deploy.images.results import (
    BuildResult,
    TagPush,
    budget_report,
    largest_layers,
    tarball_name,
)
from noderr_deploy.units import format_size

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config

DEFAULT_PUSH_TIMEOUT = 600.0
# datetime's own range: year 1 to 9999 (a larger value overflows in the label).
_LAST_EPOCH = 253_402_300_799


@dataclass(frozen=True)
class BuildRequest:
    """What ``noderr build`` was asked to do, after flag parsing (precedence applied)."""

    tiers: tuple[str, ...] = ()
    all_tiers: bool = False
    registry: str | None = None
    version: str | None = None
    base_image: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    network: str | None = None
    no_cache: bool = False
    push: bool = False
    push_timeout: float = DEFAULT_PUSH_TIMEOUT
    allow_over_budget: bool = False
    save_dir: Path | None = None
    sources: Mapping[str, Source] = field(default_factory=dict)
    """Where ``registry``, ``version`` and ``base_image`` came from when not their flags
    (an environment variable), for messages."""

    def sourced(self, name: str, value: str) -> Sourced:
        flag = "--" + name.replace("_", "-")
        return Sourced(value, self.sources.get(name) or Source.flag(flag))


class Progress(Protocol):
    """Where build and push events go (the terminal view, or nothing)."""

    def build(self, tier: str) -> AbstractContextManager[Callable[[BuildEvent], None]]: ...

    def push(self, reference: str) -> AbstractContextManager[Callable[[PushEvent], None]]: ...


@dataclass
class BuildOutcome:
    """The results of a run, and the error that ended it, if any (raised by the command
    after the results are written)."""

    results: list[BuildResult]
    error: NoderrError | None = None
    warnings: list[str] = field(default_factory=list)


def source_date(environ: Mapping[str, str]) -> datetime | None:
    """SOURCE_DATE_EPOCH (reproducible builds) for the created label, else None."""
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > _LAST_EPOCH:
        raise UsageError(
            f"SOURCE_DATE_EPOCH={value[:40]!r} is not a unix time in seconds"
            f" between 0 and {_LAST_EPOCH} (year 9999)"
        )
    return datetime.fromtimestamp(int(value), tz=UTC)


def registry_auth(environ: Mapping[str, str]) -> dict[str, str] | None:
    """NODERR_REGISTRY_USER + NODERR_REGISTRY_PASSWORD, both or neither."""
    user = environ.get("NODERR_REGISTRY_USER") or ""
    password = environ.get("NODERR_REGISTRY_PASSWORD") or ""
    if bool(user) != bool(password):
        missing = "NODERR_REGISTRY_PASSWORD" if user else "NODERR_REGISTRY_USER"
        raise UsageError(f"{missing} is not set: set both registry variables, or neither")
    return {"username": user, "password": password} if user else None


def plan_request(
    config: Config,
    request: BuildRequest,
    *,
    environ: Mapping[str, str],
    clock: Callable[[], datetime],
    git: GitInfo | None = None,
) -> list[BuildPlan]:
    """The checked plan of every tier asked for; nothing is sent anywhere."""
    tiers = select_tiers(config, list(request.tiers), request.all_tiers)
    git = git if git is not None else read_git(config.workspace)
    registry = (
        request.sourced("registry", request.registry)
        if request.registry is not None
        else configured_registry(config)
    )
    version = (
        request.sourced("version", request.version)
        if request.version
        else default_version(git.describe, config.workspace)
    )
    base_image = request.sourced("base_image", request.base_image) if request.base_image else None
    # The same rules as `noderr tiers --check`, every problem at once, before any planning.
    check_build_settings(
        build_problems(
            config,
            tiers,
            registry=registry,
            version=version,
            base_image=base_image,
            build_args=request.build_args,
            network=request.sourced("network", request.network) if request.network else None,
        ),
        config,
    )
    # Package directories, Dockerfiles and workspace dependencies: as `tiers --check` says.
    check_workspace(config, tiers)
    settings = BuildSettings(
        registry=registry.value.strip().rstrip("/"),
        version=version.value,
        base_image=request.base_image or None,
        build_args=dict(request.build_args),
    )
    now = source_date(environ)
    return each_tier(
        config, tiers, lambda t: plan_build(config, t, settings, git=git, now=now, clock=clock)
    )


def run_build(
    plans: Sequence[BuildPlan],
    request: BuildRequest,
    *,
    client: Any,
    progress: Progress,
    info: Callable[[str], None],
    auth: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> BuildOutcome:
    """Build every plan, then tag, save and push as the module's docstring describes.

    Build failures raise; budget and push failures come back in the outcome."""
    from noderr_deploy.images.engine import build_image, inspect_image

    results: list[BuildResult] = []
    for plan in plans:
        for note in plan.notes:
            info(note)
        info(
            f"building tier {plan.tier}: {len(plan.packages)} packages,"
            f" context {plan.context.file_count} files ({format_size(plan.context.tar_bytes)})"
        )
        started = monotonic()
        with progress.build(plan.tier) as on_event:
            image_id = build_image(
                client, plan, network=request.network, no_cache=request.no_cache, on_event=on_event
            )
        size, history = inspect_image(client, image_id)
        results.append(
            BuildResult(
                tier=plan.tier,
                image_id=image_id,
                tags=plan.tags,
                size_bytes=size,
                budget_bytes=plan.budget_bytes,
                duration_seconds=monotonic() - started,
                layers=largest_layers(history),
            )
        )
    outcome = BuildOutcome(results)
    over = [r for r in results if not r.within_budget]
    if over and not request.allow_over_budget:
        outcome.error = _over_budget(over)
        return outcome
    outcome.warnings.extend(
        f"tier {r.tier}: image {format_size(r.size_bytes)} is over its budget"
        f" {format_size(r.budget_bytes)} (allowed by --allow-over-budget)"
        for r in over
    )
    from noderr_deploy.images.engine import tag_image

    for result in results:
        tag_image(client, result.image_id, result.tags)
    if request.save_dir is not None:
        _save(client, plans, results, request.save_dir)
    if request.push:
        outcome.error = _push(
            client, results, progress, auth=auth, environ=environ, timeout=request.push_timeout
        )
    return outcome


def _save(
    client: Any, plans: Sequence[BuildPlan], results: Sequence[BuildResult], directory: Path
) -> None:
    from noderr_deploy.images.save import save_image

    for plan, result in zip(plans, results, strict=True):
        version_tag = plan.tags[0]
        image, _, _ = version_tag.rpartition(":")
        name = tarball_name(image, plan.build_args["VERSION"], plan.tier)
        saved = save_image(client, result.image_id, version_tag, directory / name)
        result.saved = SavedTarball(saved.path, saved.sha256, saved.size)


def _push(
    client: Any,
    results: Sequence[BuildResult],
    progress: Progress,
    *,
    auth: Mapping[str, str] | None,
    environ: Mapping[str, str] | None,
    timeout: float,
) -> NoderrError | None:
    from noderr_deploy.images.push import push_tag

    for result in results:
        result.pushes = [TagPush(tag) for tag in result.tags]
    for result in results:
        for index, reference in enumerate(result.tags):
            try:
                with progress.push(reference) as on_event:
                    digest = push_tag(
                        client,
                        reference,
                        image_id=result.image_id,
                        auth=auth,
                        environ=environ,
                        timeout=timeout,
                        on_event=on_event,
                    )
            except NoderrError as error:
                return error  # the rest is not pushed: the registry or the tag is in doubt
            result.pushes[index] = TagPush(reference, digest)
        result.pushed = True
        result.digest = result.pushes[0].digest  # the versioned tag's manifest
    return None


def _over_budget(over: Sequence[BuildResult]) -> BudgetExceeded:
    details: list[str] = []
    for result in over:
        details.extend(
            budget_report(result.tier, result.size_bytes, result.budget_bytes, result.layers)
        )
    names = ", ".join(r.tier for r in over)
    return BudgetExceeded(
        f"over the size budget: {names} (no tag moved, nothing pushed;"
        " --allow-over-budget to accept)",
        details=details,
    )
