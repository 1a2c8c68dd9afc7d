"""``noderr tiers``: list (or only check) the tiers resolved from tiers.yaml."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from noderr_deploy.commands._options import (
    ConfigOption,
    JsonOption,
    QuietOption,
    environment,
    load,
)
from noderr_deploy.results import Document
from noderr_deploy.text import sanitized
from noderr_deploy.ui.output import Output

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config, Tier


class TierDocument(Document, frozen=True):
    """One resolved tier in ``tiers --json`` (a stable contract)."""

    name: str
    extends: str | None
    beacon_tier: int
    packages: list[str]
    own_packages: list[str]
    size_budget_bytes: int
    dockerfile: str
    base_image: str
    build_args: dict[str, str]
    labels: dict[str, str]
    closure: list[str]
    dependency_of: dict[str, str]
    dev_dependencies: DevDependenciesDocument


class DevDependenciesDocument(Document, frozen=True):
    """How a tier's devDependencies are treated: the setting, and whether they are followed."""

    setting: str
    followed: bool


class TiersDocument(Document, frozen=True):
    """``tiers --json``."""

    config: str
    tiers: list[TierDocument]


class CheckDocument(Document, frozen=True):
    """``tiers --check --json``: ``config`` is None when the file named does not exist,
    ``tierCount`` (the number of tiers) null when it is invalid."""

    config: str | None
    valid: bool
    tier_count: int | None
    problems: list[str]


def tier_json(tier: Tier) -> TierDocument:
    """The JSON document of one resolved tier."""
    return TierDocument(
        name=tier.name,
        extends=tier.extends,
        beacon_tier=tier.beacon_tier,
        packages=list(tier.packages),
        own_packages=list(tier.own_packages),
        size_budget_bytes=tier.size_budget_bytes,
        dockerfile=str(tier.dockerfile),
        base_image=tier.base_image,
        build_args=dict(tier.build_args),
        labels=dict(tier.labels),
        closure=list(tier.closure),
        dependency_of=dict(tier.dependency_of),
        dev_dependencies=DevDependenciesDocument(tier.dev_dependencies, tier.follows_dev),
    )


def config_json(config: Config) -> TiersDocument:
    return TiersDocument(str(config.path), [tier_json(t) for t in config.tiers])


def tiers(
    ctx: typer.Context,
    config: ConfigOption = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Only validate, by build's own rules: tiers.yaml, registry, base images,"
            " reserved build args and labels, workspace, tier names, package directories,"
            " Dockerfiles and their COPY sources. Exit 0 or 2.",
        ),
    ] = False,
    json_: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """List the tiers resolved from tiers.yaml (inheritance applied, parents first).

    Examples:

        noderr tiers

        noderr tiers --json | jq '.tiers[] | {name, packages}'

        noderr tiers --check -c deploy/tiers.yaml
    """
    from noderr_deploy.errors import ConfigError
    from noderr_deploy.units import count

    env = environment(ctx)
    env.quiet = quiet
    out = Output.of(env)
    if check and json_:
        # A result object either way: {"config", "valid", "tierCount", "problems"}; exit 2 (and
        # the error line on stderr) when invalid.
        from noderr_deploy.images.checks import check_tiers

        try:
            cfg = load(config)
            notes = check_tiers(cfg)
        except ConfigError as exc:
            from noderr_deploy.config.locate import find_config

            try:
                path: str | None = str(find_config(config))
            except ConfigError:
                path = None  # the file named does not exist
            # The error lines as stderr shows them: messages, not data (a file name's
            # ESC would reach the terminal of `jq -r '.problems[]'`).
            problems = [sanitized(line) for line in (exc.message, *exc.details)]
            out.json(CheckDocument(path, valid=False, tier_count=None, problems=problems))
            raise
        for note in notes:
            out.warn(note)
        out.json(CheckDocument(str(cfg.path), valid=True, tier_count=len(cfg.tiers), problems=[]))
        return
    cfg = load(config)
    if check:
        from noderr_deploy.images.checks import check_tiers

        # The same rules and preflight as `noderr build`: settings, packages, COPY sources.
        for note in check_tiers(cfg):
            out.warn(note)
        out.info(
            f"{cfg.path}: {count(len(cfg.tiers), 'tier')}, all package directories present,"
            " every Dockerfile's sources in its context"
        )
        return
    from noderr_deploy.images.checks import base_image_notes

    for note in base_image_notes(cfg):
        out.warn(note)
    if json_:
        out.json(config_json(cfg))
        return
    from noderr_deploy.ui.tiers import show_tiers

    show_tiers(out, cfg)
