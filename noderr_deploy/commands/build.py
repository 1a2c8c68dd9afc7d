"""``noderr build``: build, label, check and push the tier images declared in tiers.yaml."""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from noderr_deploy.commands._options import (
    ConfigOption,
    JsonOption,
    QuietOption,
    complete_tier,
    environment,
    load,
)
from noderr_deploy.errors import UsageError
from noderr_deploy.ui.output import Output
from noderr_deploy.units import format_size

if TYPE_CHECKING:
    from noderr_deploy.images.plan import BuildPlan, BuildResult
    from noderr_deploy.ui.progress import BuildView


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
            envvar="NODERR_IMAGE_VERSION",
            show_envvar=True,
            help="Version in the tag {version}-{tier}. Default: `git describe --tags --always"
            " --dirty` of the workspace, else 0.0.0-dev.",
        ),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
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
    metadata_file: Annotated[
        Path | None,
        typer.Option(
            "--metadata-file",
            help="Also write the --json result to this file (atomically), for CI.",
            dir_okay=False,
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
    the five largest layers, and nothing is pushed.

    Registry credentials: the docker config, or NODERR_REGISTRY_USER and
    NODERR_REGISTRY_PASSWORD. SOURCE_DATE_EPOCH, else the HEAD commit
    time, is the created label.

    Examples:

        noderr build --tier oracle --dry-run

        noderr build --all --version 1.4.0 --push --metadata-file build.json

        noderr build -t guardian --registry 127.0.0.1:5000/noderr --json
    """
    from noderr_deploy.images.plan import (
        DEFAULT_VERSION,
        BuildSettings,
        check_registry,
        check_version,
        plan_build,
        read_git,
        select_tiers,
    )

    env = environment(ctx)
    out = Output.of(env, quiet=quiet)
    if metadata_file is not None and not metadata_file.parent.is_dir():
        raise UsageError(f"--metadata-file {metadata_file}: no directory {metadata_file.parent}")
    cfg = load(config)
    tiers = select_tiers(cfg, tier or [], all_tiers)
    from noderr_deploy.config.schema import check_closures

    check_closures(cfg, tiers)
    auth = _registry_auth(env.environ) if push else None
    git = read_git(cfg.workspace)
    settings = BuildSettings(
        registry=check_registry(registry if registry is not None else cfg.registry),
        version=check_version(version or git.describe or DEFAULT_VERSION, [t.name for t in tiers]),
        base_image=base_image or None,
        build_args=_parse_build_args(build_arg or []),
    )
    now = _source_date(env.environ)
    plans = [plan_build(cfg, t, settings, git=git, now=now, clock=env.now) for t in tiers]
    if dry_run:
        _show_plans(out, plans, json_, cfg.path.parent)
        return

    from noderr_deploy.images.engine import connect
    from noderr_deploy.ui.progress import BuildView

    client = connect(env.environ)
    view = BuildView(out)
    results = [
        _build_one(client, plan, view, out, network=network, no_cache=no_cache) for plan in plans
    ]
    over = [r for r in results if not r.within_budget]
    if over and not allow_over_budget:
        _finish(out, results, json_, metadata_file)
        _raise_over_budget(over)
    for result in over:
        out.warn(
            f"tier {result.tier}: image {format_size(result.size_bytes)} is over its budget"
            f" {format_size(result.budget_bytes)} (allowed by --allow-over-budget)"
        )
    if push:
        from noderr_deploy.images.engine import push_tag

        for result in results:
            digests = []
            for reference in result.tags:
                with view.push(reference) as on_event:
                    digests.append(push_tag(client, reference, auth=auth, on_event=on_event))
            result.pushed = True
            result.digest = digests[0]  # the versioned tag's manifest
            if len(set(digests)) > 1:
                out.warn(f"tier {result.tier}: the registry gave its tags different digests")
    _finish(out, results, json_, metadata_file)


def _build_one(
    client: Any,
    plan: BuildPlan,
    view: BuildView,
    out: Output,
    *,
    network: str | None,
    no_cache: bool,
) -> BuildResult:
    from noderr_deploy.images.engine import build_image, inspect_image, tag_image
    from noderr_deploy.images.plan import BuildResult, largest_layers

    out.info(
        f"building tier {plan.tier}: {len(plan.packages)} packages,"
        f" context {plan.context.file_count} files ({format_size(plan.context.tar_bytes)})"
    )
    started = time.monotonic()
    with view.build(plan.tier) as on_event:
        image_id = build_image(client, plan, network=network, no_cache=no_cache, on_event=on_event)
    tag_image(client, image_id, plan.tags)
    size, history = inspect_image(client, image_id)
    return BuildResult(
        tier=plan.tier,
        image_id=image_id,
        tags=plan.tags,
        size_bytes=size,
        budget_bytes=plan.budget_bytes,
        duration_seconds=time.monotonic() - started,
        layers=largest_layers(history),
    )


def _raise_over_budget(over: list[BuildResult]) -> None:
    from noderr_deploy.errors import BudgetExceeded
    from noderr_deploy.images.plan import budget_report

    details: list[str] = []
    for result in over:
        details.extend(
            budget_report(result.tier, result.size_bytes, result.budget_bytes, result.layers)
        )
    names = ", ".join(r.tier for r in over)
    raise BudgetExceeded(
        f"over the size budget: {names} (nothing pushed; --allow-over-budget to accept)",
        details=details,
    )


def _source_date(environ: Any) -> datetime | None:
    """SOURCE_DATE_EPOCH (reproducible builds) for the created label, else None (now)."""
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise UsageError(f"SOURCE_DATE_EPOCH={value!r} is not a unix time in seconds")
    return datetime.fromtimestamp(int(value), tz=UTC)


def _registry_auth(environ: Any) -> dict[str, str] | None:
    user = environ.get("NODERR_REGISTRY_USER") or ""
    password = environ.get("NODERR_REGISTRY_PASSWORD") or ""
    if bool(user) != bool(password):
        missing = "NODERR_REGISTRY_PASSWORD" if user else "NODERR_REGISTRY_USER"
        raise UsageError(f"{missing} is not set: set both registry variables, or neither")
    return {"username": user, "password": password} if user else None


def _parse_build_args(values: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--build-arg {value!r}: expected KEY=VALUE")
        result[key.strip()] = text
    return result


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _show_plans(out: Output, plans: list[BuildPlan], json_: bool, config_dir: Path) -> None:
    if json_:
        out.json([plan.as_json() for plan in plans])
        return
    for plan in plans:
        rows: list[tuple[str, str]] = [
            ("tags", "\n".join(plan.tags) if out.pretty else ", ".join(plan.tags)),
            ("packages", f"{len(plan.packages)}: {', '.join(plan.packages)}"),
            ("context", f"{plan.context.file_count} files, {plan.context.tar_bytes} bytes"),
            ("dockerfile", _relative(plan.dockerfile, config_dir)),
            ("size budget", format_size(plan.budget_bytes)),
        ]
        rows += [(f"build arg {k}", v) for k, v in plan.build_args.items()]
        rows += [(f"label {k}", v) for k, v in plan.labels.items()]
        out.table(("setting", "value"), rows, title=f"Plan for tier {plan.tier} (dry run)")
        out.text()


def _finish(
    out: Output, results: list[BuildResult], json_: bool, metadata_file: Path | None
) -> None:
    document = [r.as_json() for r in results]
    if metadata_file is not None:
        _write_atomically(metadata_file, json.dumps(document, indent=2) + "\n")
    if json_:
        out.json(document)
        return
    rows = [
        (
            r.tier,
            "\n".join(r.tags) if out.pretty else ",".join(r.tags),
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


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees a half-written file."""
    from noderr_deploy.errors import NoderrError

    directory = path.parent if str(path.parent) else Path()
    temporary: Path | None = None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        temporary = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        temporary.replace(path)
    except OSError as exc:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise NoderrError(f"--metadata-file {path}: cannot write: {exc.strerror or exc}") from None
