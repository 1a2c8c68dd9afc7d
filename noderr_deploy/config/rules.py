"""What ``noderr build`` refuses in a setting, in one place: the rules and their messages.

``noderr build`` (with or without ``--dry-run``) and ``noderr tiers --check`` both call
:func:`build_problems`, so they cannot drift: a value refused by one is refused by the other,
with the same message. Each message names where the value came from (:class:`Source`): the
flag, the environment variable, ``tiers.yaml:line:col`` and its key, or ``git describe``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from noderr_deploy.errors import ConfigError
from noderr_deploy.redact import redact_url

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config, Tier

DEFAULT_VERSION = "0.0.0-dev"
TAG_RULE = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
"""Docker's tag grammar (distribution's reference ``tag``): what a tag may hold."""
TAG_LIMIT = 128
LATEST = "latest"
_TAG = re.compile(f"^{TAG_RULE}$")
_TAG_CHAR = re.compile(r"[A-Za-z0-9_.-]")
# host[:port] and optional path components, as in "ghcr.io/noderrxyz" or "127.0.0.1:5000".
_REGISTRY = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)*(?::[0-9]{1,5})?)"
    r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"
)
# An image reference as the engine reads FROM: [host[:port]/]path[:tag][@digest].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)*(?::[0-9]{1,5})?/)?"
    rf"{_COMPONENT}(?:/{_COMPONENT})*(?::{TAG_RULE})?(?:@sha256:[0-9a-f]{{64}})?$"
)
RESERVED_BUILD_ARGS = ("TIER", "PACKAGES", "VERSION", "BASE_IMAGE")
RESERVED_LABELS = (
    "xyz.noderr.tier",
    "xyz.noderr.packages",
    "xyz.noderr.closure",
    "xyz.noderr.beacon-tier",
)
GIT_DESCRIBE = "git describe --tags --always --dirty"


@dataclass(frozen=True)
class Source:
    """Where a value came from, as a message names it."""

    kind: Literal["flag", "env", "file", "git", "default"]
    name: str
    """``--version``, ``NODERR_IMAGE_VERSION``, ``tiers.yaml:3:11: registry``..."""

    @classmethod
    def flag(cls, name: str) -> Source:
        return cls("flag", name)

    @classmethod
    def env(cls, name: str) -> Source:
        return cls("env", name)

    @classmethod
    def file(cls, where: str) -> Source:
        return cls("file", where)

    def subject(self, value: str) -> str:
        """``value`` as the message's subject, with its source."""
        shown = repr(value)
        if self.kind == "env":
            return f"{self.name}={shown}"
        if self.kind == "git":
            return f"the git tag {shown} (`{GIT_DESCRIBE}` in {self.name}: the default version)"
        if self.kind == "default":
            return f"the default {self.name} {shown}"
        return f"{self.name} {shown}"


@dataclass(frozen=True)
class Sourced:
    """A setting's value and where it came from."""

    value: str
    source: Source


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` cannot be a Docker tag, with the rule (no fix: see :func:`tag_fix`)."""
    if _TAG.match(tag):
        return None
    rule = f"a Docker tag is {TAG_RULE}"
    if not tag:
        return f"is empty: {rule}"
    if len(tag) > TAG_LIMIT:
        return f"is {len(tag)} characters, over the {TAG_LIMIT} of a tag: {rule}"
    bad = sorted({c for c in tag if not _TAG_CHAR.match(c)})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        what = f"{shown} is not allowed" if len(bad) == 1 else f"{shown} are not allowed"
        return f"is not a valid image tag: {what} in a Docker tag ({rule})"
    return f"is not a valid image tag: a Docker tag cannot start with {tag[0]!r} ({rule})"


def tag_fix(tag: str) -> str | None:
    """The obvious valid tag for ``tag`` (other characters as '-', no leading '.' or '-'),
    or None when there is none (empty, too long)."""
    # NFKC first: a full-width digit (U+FF11) is the ASCII digit that was meant, not a '-'.
    fixed = re.sub(r"[^A-Za-z0-9_.-]", "-", unicodedata.normalize("NFKC", tag)).lstrip(".-")
    return fixed if fixed != tag and _TAG.match(fixed) else None


def version_problem(version: Sourced, tier_names: Sequence[str]) -> str | None:
    """Why ``{version}-{tier}`` is not a valid tag for one of ``tiers``, naming its source."""
    source = version.source
    subject = source.subject(version.value)
    problem = tag_problem(version.value)
    if problem is not None:
        fixed = tag_fix(version.value)
        if fixed is None:
            fix = "" if source.kind == "flag" else "; pass --version"
        elif source.kind == "env":
            fix = f"; use {source.name}={fixed!r}"
        else:
            fix = f"; use --version {fixed!r}"
        return f"{subject} {problem}{fix}"
    longest = max(tier_names, key=len, default=None)
    if longest is not None and len(version.value) + 1 + len(longest) > TAG_LIMIT:
        room = TAG_LIMIT - 1 - len(longest)
        if room < 1:  # no version fits: the tier name is at fault (tier_name_problem)
            return (
                f"{subject}: no version fits in the tag {{version}}-{{tier}} with tier"
                f" {longest[:40]!r}, whose name is {len(longest)} characters (a tag is at most"
                f" {TAG_LIMIT})"
            )
        hint = "" if source.kind == "flag" else " (or pass --version)"
        return (
            f"{subject} is too long for the tag {{version}}-{{tier}}: at most {room}"
            f" characters with tier {longest[:40]!r} (a tag is at most {TAG_LIMIT}){hint}"
        )
    return None


def registry_problem(registry: Sourced) -> str | None:
    value = registry.value.strip().rstrip("/")
    if value and "://" not in value and _REGISTRY.match(value):
        return None
    shown = Sourced(redact_url(registry.value), registry.source)
    return (
        f"{shown.source.subject(shown.value)} is not a registry: use host[:port][/namespace]"
        " such as ghcr.io/noderrxyz or 127.0.0.1:5000 (no scheme; the path in lowercase)"
    )


def base_image_problem(image: Sourced) -> str | None:
    if _REFERENCE.match(image.value):
        return None
    return (
        f"{image.source.subject(image.value)} is not an image reference: use"
        " [host[:port]/]name[:tag][@sha256:digest] such as node:20-alpine (the name in"
        " lowercase)"
    )


def tier_name_problem(config: Config, tier: Tier) -> str | None:
    """A tier whose ``latest-<tier>`` tag would be over the tag's 128 characters."""
    room = TAG_LIMIT - len(LATEST) - 1
    if len(tier.name) <= room:
        return None
    return (
        f"{config.where(('tiers', tier.name), key=True)}: the tier name is {len(tier.name)}"
        f" characters: the tag {LATEST}-<tier> holds at most {room}"
    )


def arg_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a build arg: no ``ARG`` can declare a name that is empty or
    holds a blank, an ``=`` or a control character (the instruction splits there), so the
    engine would pass it on and no step would ever see it. Any other name can be declared
    (the classic builder takes ``ARG foo-bar``)."""
    if name and name.isprintable() and "=" not in name and not any(c.isspace() for c in name):
        return None
    return f"{name!r} is not a build arg name (no ARG can declare a blank, = or control character)"


def network_problem(network: Sourced) -> str | None:
    """Why ``network`` names no network the engine could run ``RUN`` steps in: an empty
    name, or one with a blank or a control character. The engine judges the rest."""
    value = network.value
    if value and value.isprintable() and not any(c.isspace() for c in value):
        return None
    return (
        f"{network.source.subject(value)} is not a network: use none, host, bridge,"
        " a network's name or id, or container:NAME"
    )


def _reserved(config: Config, tier: Tier) -> list[str]:
    problems = []
    for section, reserved, values in (
        ("build_args", RESERVED_BUILD_ARGS, tier.build_args),
        ("labels", RESERVED_LABELS, tier.labels),
    ):
        for name in values:
            if section == "build_args" and (problem := arg_name_problem(name)):
                loc = config.origin(tier, section, name) or ("tiers", tier.name, section)
                problems.append(f"{config.where(loc, key=True)}: {problem}")
            if name in reserved:
                loc = config.origin(tier, section, name) or ("tiers", tier.name, section)
                where = config.where(loc, key=True)
                hint = (
                    " (use --base-image or the tier's base_image)" if name == "BASE_IMAGE" else ""
                )
                problems.append(f"{where}: {name} is set by noderr and cannot be set here{hint}")
    return problems


def workspace_problem(config: Config) -> str | None:
    where = config.where(("workspace",))
    shown = os.path.normpath(str(config.workspace))
    if not config.workspace.exists():
        return f"{where}: the workspace {shown} does not exist"
    if not config.workspace.is_dir():
        return f"{where}: the workspace {shown} is not a directory"
    return None


def base_image_of(config: Config, tier: Tier) -> Sourced:
    """The tier's base image and where tiers.yaml (or the default) set it."""
    loc = config.origin(tier, "base_image")
    if loc is not None:
        return Sourced(tier.base_image, Source.file(config.where(loc)))
    return Sourced(tier.base_image, Source("default", "base_image"))


def configured_registry(config: Config) -> Sourced:
    """tiers.yaml's registry (or the default), with where it is set."""
    if config.located is not None and ("registry",) in config.located.values:
        return Sourced(config.registry, Source.file(config.where(("registry",))))
    return Sourced(config.registry, Source("default", "registry"))


def default_version(git_describe: str | None, workspace: Path) -> Sourced:
    """The version when neither --version nor NODERR_IMAGE_VERSION is given."""
    if git_describe:
        return Sourced(git_describe, Source("git", os.path.normpath(str(workspace))))
    return Sourced(DEFAULT_VERSION, Source("default", "version"))


def build_problems(
    config: Config,
    tiers: Sequence[Tier],
    *,
    registry: Sourced,
    version: Sourced,
    base_image: Sourced | None = None,
    build_args: Mapping[str, str] | None = None,
    network: Sourced | None = None,
) -> list[str]:
    """Every value ``noderr build`` of ``tiers`` would refuse, each naming its source.

    ``base_image`` and ``build_args`` are the flags' (``--base-image``, ``--build-arg``);
    without them each tier's own are checked.
    """
    found: list[str | None] = [
        workspace_problem(config),
        registry_problem(registry),
        version_problem(version, [t.name for t in tiers]),
    ]
    if base_image is not None:
        found.append(base_image_problem(base_image))
    if network is not None:
        found.append(network_problem(network))
    for name in build_args or {}:
        if problem := arg_name_problem(name):
            found.append(f"--build-arg: {problem}")
        if name in RESERVED_BUILD_ARGS:
            hint = " (use --base-image or the tier's base_image)" if name == "BASE_IMAGE" else ""
            found.append(f"--build-arg: {name} is set by noderr and cannot be overridden{hint}")
    for tier in tiers:
        found.append(tier_name_problem(config, tier))
        if base_image is None:
            found.append(base_image_problem(base_image_of(config, tier)))
        found.extend(_reserved(config, tier))
    problems = [p for p in found if p]
    return list(dict.fromkeys(problems))  # an inherited mistake is said once


def check_build_settings(problems: Sequence[str], config: Config) -> None:
    """Exit 2 with ``problems``: one line for one, else a count and one line each."""
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(
            f"{os.path.normpath(str(config.path))}: {len(problems)} problems in the build settings",
            details=list(problems),
        )
