"""``noderr publish``: propose (or send) publishing a version of a tier on the VersionBeacon."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from noderr_deploy.commands._action import ActionOptions, action_command, check_text
from noderr_deploy.commands._options import GivenPath, environment, given_as, on_command_line
from noderr_deploy.errors import RegistryError, UsageError
from noderr_deploy.ui.output import Output

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config

_IMAGE = "Image"
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")


@action_command
def publish(  # noqa: PLR0917 - a command takes its options as parameters
    ctx: typer.Context,
    tier: Annotated[
        str, typer.Option("--tier", "-t", help="The tier to publish for (tiers.yaml).")
    ],
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            "-V",
            help="The version string to publish (default with --from-metadata: from its tag).",
            show_default=False,
        ),
    ] = None,
    image_tag: Annotated[
        str | None,
        typer.Option(
            "--image-tag",
            help="The image tag nodes pull. Default: {version}-{tier}, the tag noderr build"
            " pushed.",
            show_default=False,
            rich_help_panel=_IMAGE,
        ),
    ] = None,
    from_metadata: Annotated[
        Path | None,
        typer.Option(
            "--from-metadata",
            metavar="FILE",
            click_type=GivenPath(dir_okay=False),
            help="Take the tag (and the digest) from noderr build --metadata-file FILE.",
            rich_help_panel=_IMAGE,
        ),
    ] = None,
    pin_digest: Annotated[
        bool,
        typer.Option(
            "--pin-digest",
            help="Publish TAG@sha256:... so nodes pull exactly the image checked here.",
            rich_help_panel=_IMAGE,
        ),
    ] = False,
    no_verify_image: Annotated[
        bool,
        typer.Option(
            "--no-verify-image",
            help="Do not check that the registry has the image before proposing.",
            rich_help_panel=_IMAGE,
        ),
    ] = False,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            envvar="NODERR_REGISTRY",
            show_envvar=True,
            help="Registry (and namespace) to look the image up in, e.g. 127.0.0.1:5000."
            " Default: tiers.yaml registry.",
            rich_help_panel=_IMAGE,
        ),
    ] = None,
    config_hash: Annotated[
        str | None,
        typer.Option(
            "--config-hash",
            metavar="0x..",
            help="The version's configHash (32 bytes, hex).",
            show_default=False,
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config-file",
            metavar="FILE",
            click_type=GivenPath(dir_okay=False),
            help="The node configuration to publish: its keccak256 is the configHash.",
            show_default=False,
        ),
    ] = None,
    *,
    options: ActionOptions,
) -> None:
    """Propose publishing a version of a tier on the VersionBeacon (or --send it).

    First checks that the registry has the image (exit 1 if nodes could not pull it).

    Binds the ABI's publishVersion by parameter name; --arg NAME=VALUE gives any other.

    The proposal goes to stdout (or --out), the decoded call to stderr.

    Exit codes: 0 proposed or sent; 1 image missing, unreachable, reverted; 2 bad input.

    Examples:

        noderr publish -t oracle -V 1.4.0 --config-file node.json -f safe --safe 0x5afe...

        noderr publish -t oracle --from-metadata build.json --pin-digest --send --keystore k.json
    """
    from noderr_deploy.chain.actions import PublishRequest, prepare_publish
    from noderr_deploy.chain.binding import parse_args
    from noderr_deploy.cohorts import RolloutPlan
    from noderr_deploy.commands._action import resolve_abi, run
    from noderr_deploy.commands._chain import select_tiers
    from noderr_deploy.commands._options import load_optional

    env = environment(ctx)
    out = Output.of(env, quiet=options.quiet)
    delivery = options.delivery(ctx)
    args = parse_args(options.arg or [])
    digest_hash = _config_hash(config_hash, config_file)
    if from_metadata is not None and not on_command_line(ctx, "registry"):
        registry = None  # an exported NODERR_REGISTRY gives way to where the build pushed
    cfg = load_optional(options.config)
    tier_name, slot = select_tiers(cfg, [tier])[0]
    repository, tag, built_digest, version = _image(
        cfg,
        tier_name,
        version=version,
        image_tag=image_tag,
        from_metadata=from_metadata,
        registry=registry,
        registry_given=given_as(ctx, "registry"),
    )
    check_text(version, "--version", printable=True)
    if not version.strip():
        raise UsageError("--version is empty")
    settings = options.settings(cfg)
    write_abi = resolve_abi(cfg, options.abi)
    digest = built_digest
    if not no_verify_image:
        digest = _verify_image(
            env.environ,
            repository,
            tag,
            built_digest=built_digest,
            timeout=settings.timeout,
            out=out,
        )
    elif pin_digest and digest is None:
        raise UsageError(
            "--pin-digest needs the image's digest: give --from-metadata, or drop"
            " --no-verify-image so the registry is asked"
        )
    published_tag = f"{tag}@{digest}" if pin_digest else tag
    plan = cfg.rollout.plan() if cfg is not None else RolloutPlan()
    request = PublishRequest(
        tier=tier_name,
        beacon_tier=slot,
        version=version,
        image_tag=published_tag,
        config_hash=digest_hash,
        plan=plan,
        abi=write_abi,
        args=args,
    )
    run(
        env,
        out,
        settings,
        delivery,
        lambda client, address: prepare_publish(
            client, address, request, chain_id=settings.chain_id
        ),
    )


def _config_hash(text: str | None, path: Path | None) -> bytes | None:
    if text is not None and path is not None:
        raise UsageError("--config-hash and --config-file exclude each other")
    if text is not None:
        if not _HASH.match(text.strip()):
            raise UsageError(f"--config-hash {text!r}: expected 0x followed by 64 hex digits")
        return bytes.fromhex(text.strip()[2:])
    if path is not None:
        from noderr_deploy.errors import InputError
        from noderr_deploy.keccak import keccak256

        try:
            return keccak256(path.read_bytes())
        except OSError as exc:
            raise InputError(f"--config-file {path}: cannot read: {exc.strerror or exc}") from None
    return None


def _image(
    cfg: Config | None,
    tier: str,
    *,
    version: str | None,
    image_tag: str | None,
    from_metadata: Path | None,
    registry: str | None,
    registry_given: str = "--registry",
) -> tuple[str, str, str | None, str]:
    """Repository, tag, the build's digest (or None) and the version to publish;
    ``registry_given`` is how ``registry`` was given (the flag or its variable)."""
    from noderr_deploy.images.plan import check_registry, check_version
    from noderr_deploy.images.registry import check_tag, read_build_metadata

    if from_metadata is not None:
        if image_tag is not None:
            raise UsageError("--image-tag and --from-metadata exclude each other")
        if registry is not None:
            # The metadata says where the image was pushed: another registry holds another
            # image.
            raise UsageError("--registry and --from-metadata exclude each other")
        built = read_build_metadata(from_metadata, tier)
        if version is None:
            suffix = f"-{tier}"
            if not built.tag.endswith(suffix) or len(built.tag) == len(suffix):
                raise UsageError(
                    f"--from-metadata {from_metadata}: tag {built.tag!r} is not"
                    f" {{version}}-{tier}: give --version"
                )
            version = built.tag[: -len(suffix)]
        return built.repository, built.tag, built.digest, version
    if version is None:
        raise UsageError("missing --version (or --from-metadata FILE)")
    tag = f"{check_version(version, [tier])}-{tier}" if image_tag is None else check_tag(image_tag)
    from noderr_deploy.config.rules import Source, configured_registry

    if registry is not None:
        given = registry_given
        source = Source.env(given) if given.startswith("NODERR_") else Source.flag(given)
        host = check_registry(registry, source)
    elif cfg is not None:
        host = check_registry(cfg.registry, configured_registry(cfg).source)
    else:
        raise UsageError("no registry to look the image up in: --registry, or a tiers.yaml")
    image = cfg.image if cfg is not None else "noderr-node-os"
    return f"{host}/{image}", tag, None, version


def _verify_image(
    environ: Mapping[str, str],
    repository: str,
    tag: str,
    *,
    built_digest: str | None,
    timeout: float,
    out: Output,
) -> str:
    from noderr_deploy.images.registry import image_ref, manifest_digest

    ref = image_ref(repository, tag)
    digest = manifest_digest(ref, environ=environ, timeout=timeout)
    if digest is None:
        raise RegistryError(
            f"image {ref} is not in the registry: nodes could not pull it"
            " (push it with noderr build --push, or pass --no-verify-image)"
        )
    if built_digest is not None and digest != built_digest:
        raise RegistryError(
            f"image {ref} in the registry is {digest}, not the build's {built_digest}"
            " (the tag was pushed again since): build and push again, or check the tag"
        )
    out.info(f"image {ref} is in the registry ({digest})")
    return digest
