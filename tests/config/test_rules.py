"""The build's setting rules: the tag grammar, and messages that name each value's source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docker.utils.build import match_tag
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.config.rules import (
    TAG_RULE,
    Source,
    Sourced,
    arg_name_problem,
    base_image_problem,
    build_problems,
    configured_registry,
    default_version,
    network_problem,
    registry_problem,
    tag_fix,
    tag_problem,
    version_problem,
)
from noderr_deploy.config.schema import load_config

# The characters that matter to the grammar, and some that a git tag or a typo brings.
TAGS = st.text(alphabet="aZ09_.-+/: @é\t", max_size=140) | st.text(
    alphabet="abc", min_size=120, max_size=135
)


@given(TAGS)
def test_the_tag_rule_is_dockers(tag: str) -> None:
    # The docker SDK's reference grammar (docker/utils/build.py, from distribution's
    # reference regexp): `host:port/name:tag` matches exactly when the tag part is a valid
    # tag (without the host, `name:0:0` would read as host `name:0`).
    assert (tag_problem(tag) is None) == match_tag(f"127.0.0.1:5000/noderr-node-os:{tag}")
    assert (tag_problem(tag) is None) == bool(re.fullmatch(TAG_RULE, tag))


@given(TAGS)
def test_a_fix_is_always_a_valid_tag(tag: str) -> None:
    fixed = tag_fix(tag)
    if fixed is not None:
        assert match_tag(f"127.0.0.1:5000/noderr-node-os:{fixed}")
        assert tag_problem(tag) is not None  # only offered for a bad tag


@given(TAGS)
def test_every_refusal_states_the_rule(tag: str) -> None:
    problem = tag_problem(tag)
    if problem is not None:
        assert TAG_RULE in problem


FLAG = Source.flag("--version")
ENV = Source.env("NODERR_IMAGE_VERSION")
GIT = Source("git", "/ws")


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (
            Sourced("v1.4.0+build.5", FLAG),
            "--version 'v1.4.0+build.5' is not a valid image tag: '+' is not allowed in a"
            f" Docker tag (a Docker tag is {TAG_RULE}); use --version 'v1.4.0-build.5'",
        ),
        (
            Sourced("v1.4.0+build.5", GIT),
            "the git tag 'v1.4.0+build.5' (`git describe --tags --always --dirty` in /ws: the"
            " default version) is not a valid image tag: '+' is not allowed in a Docker tag"
            f" (a Docker tag is {TAG_RULE}); use --version 'v1.4.0-build.5'",
        ),
        (
            Sourced("release/1.4", ENV),
            "NODERR_IMAGE_VERSION='release/1.4' is not a valid image tag: '/' is not allowed"
            f" in a Docker tag (a Docker tag is {TAG_RULE}); use NODERR_IMAGE_VERSION="
            "'release-1.4'",
        ),
        (
            Sourced("-rc1", FLAG),
            "--version '-rc1' is not a valid image tag: a Docker tag cannot start with '-'"
            f" (a Docker tag is {TAG_RULE}); use --version 'rc1'",
        ),
        (
            Sourced("x" * 129, GIT),
            f"the git tag '{'x' * 129}' (`git describe --tags --always --dirty` in /ws: the"
            f" default version) is 129 characters, over the 128 of a tag: a Docker tag is"
            f" {TAG_RULE}; pass --version",
        ),
        (
            Sourced("x" * 120, ENV),
            f"NODERR_IMAGE_VERSION='{'x' * 120}' is too long for the tag {{version}}-{{tier}}:"
            " at most 119 characters with tier 'guardian' (a tag is at most 128) (or pass"
            " --version)",
        ),
    ],
)
def test_a_bad_version_names_its_source_and_the_fix(version: Sourced, message: str) -> None:
    assert version_problem(version, ["all", "guardian"]) == message


@pytest.mark.parametrize(
    ("tag", "fixed"),
    [
        ("\uff11.0", "1.0"),  # a full-width digit is the digit meant, not a '-'
        ("v\uff11.\uff10+build.5", "v1.0-build.5"),
        ("\u2460.2", "1.2"),  # a circled digit one
        ("v1.4.0+build.5", "v1.4.0-build.5"),
        (".hidden", "hidden"),
    ],
)
def test_the_fix_keeps_what_was_meant(tag: str, fixed: str) -> None:
    assert tag_fix(tag) == fixed


def test_a_tier_name_no_version_fits_beside_is_said_so() -> None:
    # 128 - 1 - 130 would have read "at most -3 characters".
    problem = version_problem(Sourced("1.0", FLAG), ["t" * 130])
    assert problem is not None
    assert "no version fits in the tag {version}-{tier}" in problem
    assert "130 characters" in problem and "-3" not in problem


def test_the_default_version_is_git_describe_else_the_default(tmp_path: Path) -> None:
    assert default_version("v1.4.0", tmp_path).source.kind == "git"
    assert default_version(None, tmp_path) == Sourced("0.0.0-dev", Source("default", "version"))


@pytest.mark.parametrize(
    ("source", "subject"),
    [
        (Source.flag("--registry"), "--registry 'https://ghcr.io/x'"),
        (Source.env("NODERR_REGISTRY"), "NODERR_REGISTRY='https://ghcr.io/x'"),
        (Source.file("tiers.yaml:2:11: registry"), "tiers.yaml:2:11: registry 'https://ghcr.io/x'"),
    ],
)
def test_registry_and_base_image_name_their_source(source: Source, subject: str) -> None:
    problem = registry_problem(Sourced("https://ghcr.io/x", source))
    assert problem is not None and problem.startswith(f"{subject} is not a registry:")
    problem = base_image_problem(Sourced("https://ghcr.io/x", source))
    assert problem is not None and problem.startswith(f"{subject} is not an image reference:")


def test_registry_credentials_are_never_shown() -> None:
    problem = registry_problem(Sourced("https://user:s3cret@ghcr.io/x", Source.flag("--registry")))
    assert problem is not None and "s3cret" not in problem


@pytest.mark.parametrize(
    "image",
    ["node:20-alpine", "127.0.0.1:5000/noderr/base:1", "ghcr.io/a/b@sha256:" + "0" * 64, "x"],
)
def test_valid_base_images(image: str) -> None:
    assert base_image_problem(Sourced(image, Source.flag("--base-image"))) is None
    assert match_tag(image.split("@", maxsplit=1)[0])


CONFIG = """\
registry: 127.0.0.1:5000/ok
workspace: {workspace}
tiers:
  all:
    beacon_tier: 0
    size_budget: 1GB
    base_image: "Bad Image"
    build_args: {{TIER: x, NODE_ENV: production}}
    labels: {{xyz.noderr.tier: y, team: a}}
  oracle: {{extends: all, beacon_tier: 2}}
  {long}: {{beacon_tier: 1, size_budget: 1GB}}
"""


def problems_of(tmp_path: Path, workspace: str = ".", long: str = "g" * 121) -> list[str]:
    path = tmp_path / "tiers.yaml"
    path.write_text(CONFIG.format(workspace=workspace, long=long))
    config = load_config(path)
    return build_problems(
        config,
        config.tiers,
        registry=configured_registry(config),
        version=default_version(None, config.workspace),
    )


def test_config_problems_name_file_line_col_and_key_once(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    found = problems_of(tmp_path, long="g" * 122)
    assert any(p.startswith("the default version '0.0.0-dev' is too long") for p in found)
    assert (
        f"{path}:7:17: tiers.all.base_image 'Bad Image' is not an image reference: use"
        " [host[:port]/]name[:tag][@sha256:digest] such as node:20-alpine (the name in"
        " lowercase)" in found
    )
    assert (
        f"{path}:8:18: tiers.all.build_args.TIER: TIER is set by noderr and cannot be set here"
        in found
    )
    assert (
        f"{path}:9:14: tiers.all.labels.xyz.noderr.tier: xyz.noderr.tier is set by noderr and"
        " cannot be set here" in found
    )
    assert (
        f"{path}:11:3: tiers.{'g' * 122}: the tier name is 122 characters: the tag"
        " latest-<tier> holds at most 121" in found
    )
    assert len(found) == 5  # oracle inherits the mistakes of all: said once, at all's lines


def test_a_tier_name_that_fits_latest_but_not_the_version(tmp_path: Path) -> None:
    found = problems_of(tmp_path, long="g" * 121)
    assert not any("the tier name is" in p for p in found)
    assert any("is too long for the tag {version}-{tier}" in p for p in found)


@pytest.mark.parametrize(("workspace", "said"), [("nope", "does not exist"),
                                                 ("tiers.yaml", "is not a directory")])  # fmt: skip
def test_a_missing_or_non_directory_workspace(tmp_path: Path, workspace: str, said: str) -> None:
    found = problems_of(tmp_path, workspace=workspace, long="g")
    assert found[0] == (
        f"{tmp_path / 'tiers.yaml'}:2:12: workspace: the workspace {tmp_path / workspace} {said}"
    )


@pytest.mark.parametrize("name", ["A", "_x", "NODE_ENV", "a1", "foo-bar", "1X", "a.b"])
def test_a_build_arg_name_an_arg_can_declare(name: str) -> None:
    assert arg_name_problem(name) is None


@pytest.mark.parametrize("name", ["a b", "", "a=b", "x\n", "\tA", "a\x1b"])
def test_a_build_arg_no_arg_would_take_is_refused(name: str) -> None:
    # The engine passes it on, no ARG consumes it, and the build silently lacks it.
    problem = arg_name_problem(name)
    assert problem is not None and repr(name) in problem


@pytest.mark.parametrize(
    "value", ["none", "host", "bridge", "my-net_1.x", "container:abc", "a" * 64, "nét"]
)
def test_a_network_the_engine_knows_how_to_name(value: str) -> None:
    assert network_problem(Sourced(value, Source.flag("--network"))) is None


@pytest.mark.parametrize(
    ("value", "source", "subject"),
    [
        ("bad net", Source.flag("--network"), "--network 'bad net'"),
        ("a\tb", Source.env("NODERR_BUILD_NETWORK"), "NODERR_BUILD_NETWORK='a\\tb'"),
        ("x\x1b", Source.flag("--network"), "--network 'x\\x1b'"),
    ],
)
def test_a_network_no_engine_has_names_its_source(value: str, source: Source, subject: str) -> None:
    problem = network_problem(Sourced(value, source))
    assert problem is not None and problem.startswith(f"{subject} is not a network")
