"""``noderr build``: build, label, check and push the tier images declared in tiers.yaml."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from noderr_deploy.commands._options import (
    ConfigOption,
    GivenPath,
    GivenText,
    JsonOption,
    QuietOption,
    complete_tier,
    environment,
    from_environment,
    given_as,
    load,
)
from noderr_deploy.errors import UsageError
from noderr_deploy.ui.output import Cell, Output, to_json
from noderr_deploy.units import format_size

if TYPE_CHECKING:
    from noderr_deploy.config.rules import Source
    from noderr_deploy.images.plan import BuildPlan
    from noderr_deploy.images.results import BuildResult


def build(  # noqa: PLR0917 (typer passes options positionally)
    ctx: typer.Context,
    tier: Annotated[
        list[str] | None,
        typer.Option(
            "--tier",
            "-t",
            help="Tier to build (repeatable); built in extends order.",
            shell_complete=complete_tier,
        ),
    ] = None,
    all_tiers: Annotated[bool, typer.Option("--all", help="Build every tier.")] = False,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            click_type=GivenText(),
            envvar="NODERR_IMAGE_VERSION",
            show_envvar=True,
            help="Version in the tag {version}-{tier}, so a Docker tag:"
            " [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (no '+' or '/'). Default: `git describe --tags"
            " --always --dirty` of the workspace, else 0.0.0-dev.",
        ),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            click_type=GivenText(),
            envvar="NODERR_REGISTRY",
            show_envvar=True,
            help="Registry and namespace of the tags, e.g. ghcr.io/noderrxyz or 127.0.0.1:5000."
            " Default: tiers.yaml.",
        ),
    ] = None,
    base_image: Annotated[
        str | None,
        typer.Option(
            "--base-image",
            click_type=GivenText(),
            envvar="NODERR_BASE_IMAGE",
            show_envvar=True,
            help="BASE_IMAGE build arg for every tier. Default: the tier's base_image.",
        ),
    ] = None,
    build_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--build-arg", help="Extra build arg KEY=VALUE (repeatable); overrides tiers.yaml."
        ),
    ] = None,
    network: Annotated[
        str | None,
        typer.Option(
            "--network",
            click_type=GivenText(),
            envvar="NODERR_BUILD_NETWORK",
            show_envvar=True,
            help="Network of RUN steps (e.g. none, host). Default: the engine's default.",
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the layer cache.")] = (
        False
    ),
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the plan (tags, args, labels, context); no Docker."),
    ] = False,
    push: Annotated[
        bool, typer.Option("--push", help="Push both tags of every tier after a good build.")
    ] = False,
    allow_over_budget: Annotated[
        bool,
        typer.Option("--allow-over-budget", help="An image over its size budget is a warning."),
    ] = False,
    push_timeout: Annotated[
        float,
        typer.Option(
            "--push-timeout",
            min=1,
            help="Seconds a push may go without an answer from the registry before it is"
            " reported as stopped (the engine waits without limit).",
        ),
    ] = 600.0,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            help="Also write each image as DIR/IMAGE-VERSION-TIER.tar (`docker load`-able),"
            " with its sha256 and size in --json.",
            click_type=GivenPath(file_okay=False),
        ),
    ] = None,
    metadata_file: Annotated[
        Path | None,
        typer.Option(
            "--metadata-file",
            help="Also write the --json result to this file (atomically), for CI.",
            click_type=GivenPath(dir_okay=False),
        ),
    ] = None,
    config: ConfigOption = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Build, label, check and push tier images with the engine at DOCKER_HOST.

    The context holds only what a tier needs: the workspace's root files,
    the tier's packages and the Dockerfile. Images are tagged
    REGISTRY/IMAGE:VERSION-TIER and REGISTRY/IMAGE:latest-TIER once built,
    then checked against the tier's size budget: over it, exit 3 naming
    the five largest layers, and nothing is pushed. After a push, the
    registry is asked which image each tag names: another than the one
    built (a concurrent build moved the tag) is exit 1.

    Registry credentials: the docker config, or NODERR_REGISTRY_USER and
    NODERR_REGISTRY_PASSWORD. SOURCE_DATE_EPOCH, else the HEAD commit
    time, is the created label.

    Examples:

        noderr build --tier oracle --dry-run

        noderr build --all --version 1.4.0 --push --metadata-file build.json

        noderr build -t guardian --registry 127.0.0.1:5000/noderr --json
    """
    from noderr_deploy.images.pipeline import BuildRequest, plan_request, registry_auth

    env = environment(ctx)
    out = Output.of(env, quiet=quiet)
    if metadata_file is not None and not metadata_file.parent.is_dir():
        raise UsageError(
            f"--metadata-file {_norm(metadata_file)}: no directory {_norm(metadata_file.parent)}"
        )
    if save is not None and not save.is_dir():
        raise UsageError(f"--save {_norm(save)}: not a directory")
    cfg = load(config)
    request = BuildRequest(
        tiers=tuple(tier or ()),
        all_tiers=all_tiers,
        registry=registry,
        version=version,
        base_image=base_image,
        build_args=_parse_build_args(build_arg or []),
        network=network,
        no_cache=no_cache,
        push=push,
        push_timeout=push_timeout,
        allow_over_budget=allow_over_budget,
        save_dir=save,
        sources=_env_sources(ctx),
    )
    auth = registry_auth(env.environ) if push else None
    plans = plan_request(cfg, request, environ=env.environ, clock=env.now)
    if dry_run:
        for plan in plans:
            for note in plan.notes:
                out.warn(note)
        document = [plan.document() for plan in plans]
        if metadata_file is not None:
            _write_metadata(metadata_file, to_json(document) + "\n")
        _show_plans(out, plans, json_, cfg.path.parent)
        return

    from noderr_deploy.images.engine import connect
    from noderr_deploy.images.pipeline import run_build
    from noderr_deploy.ui.progress import BuildView

    client = connect(env.environ)
    outcome = run_build(
        plans,
        request,
        client=client,
        progress=BuildView(out),
        info=out.info,
        auth=auth,
        environ=env.environ,
    )
    for warning in outcome.warnings:
        out.warn(warning)
    _finish(out, outcome.results, json_, metadata_file)
    if outcome.error is not None:
        raise outcome.error


_ENV_OPTIONS = ("registry", "version", "base_image", "network")
"""The options whose messages name their source (each declares its variable above)."""


def _env_sources(ctx: typer.Context) -> dict[str, Source]:
    """The options whose value came from their environment variable, for messages."""
    from noderr_deploy.config.rules import Source

    return {
        name: Source.env(given_as(ctx, name))
        for name in _ENV_OPTIONS
        if from_environment(ctx, name)
    }


def _norm(path: Path) -> str:
    return os.path.normpath(str(path))


def _parse_build_args(values: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--build-arg {value!r}: expected KEY=VALUE")
        result[key.strip()] = text
    return result


def _show_plans(out: Output, plans: list[BuildPlan], json_: bool, config_dir: Path) -> None:
    if json_:
        out.json([plan.document() for plan in plans])
        return
    for plan in plans:
        rows: list[tuple[str, Cell]] = [
            ("tags", tuple(plan.tags)),  # one line each on a terminal
            ("packages", f"{len(plan.packages)}: {', '.join(plan.packages)}"),
            ("context", f"{plan.context.file_count} files, {plan.context.tar_bytes} bytes"),
            ("dockerfile", _relative(plan.dockerfile, config_dir)),
            ("size budget", format_size(plan.budget_bytes)),
        ]
        rows += [(f"build arg {k}", v) for k, v in plan.build_args.items()]
        rows += [(f"label {k}", v) for k, v in plan.labels.items()]
        out.table(("setting", "value"), rows, title=f"Plan for tier {plan.tier} (dry run)")
        out.text()


def _relative(path: Path, base: Path) -> str:
    return os.path.normpath(os.path.relpath(path.absolute(), base.absolute()))


def _finish(
    out: Output, results: list[BuildResult], json_: bool, metadata_file: Path | None
) -> None:
    document = [r.document() for r in results]
    if metadata_file is not None:
        _write_metadata(metadata_file, to_json(document) + "\n")
    if json_:
        out.json(document)
        return
    rows = [
        (
            r.tier,
            tuple(r.tags) if out.pretty else ",".join(r.tags),
            r.image_id.removeprefix("sha256:")[:12],
            f"{format_size(r.size_bytes)} / {format_size(r.budget_bytes)}",
            "yes" if r.within_budget else "NO",
            f"{r.duration_seconds:.1f}s",
            r.digest or ("-" if not r.pushed else "?"),
        )
        for r in results
    ]
    styles = [None if r.within_budget else "red" for r in results]
    out.table(
        ("tier", "tags", "image id", "size / budget", "in budget", "duration", "pushed digest"),
        rows,
        title="Built images",
        styles=styles,
    )


def _write_metadata(path: Path, text: str) -> None:
    from noderr_deploy.files import write_text

    write_text(path, text, flag="--metadata-file", shown=_norm(path))
