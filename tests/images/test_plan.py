"""Build plans (tags, build args, labels, tier order) and the size-budget verdict."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from noderr_deploy.config.schema import load_config
from noderr_deploy.errors import ConfigError, UsageError
from noderr_deploy.images.documents import SavedTarball
from noderr_deploy.images.git import GitInfo, read_git
from noderr_deploy.images.plan import (
    BuildSettings,
    build_args,
    check_registry,
    check_version,
    image_labels,
    image_tags,
    plan_build,
    select_tiers,
    split_reference,
)
from noderr_deploy.images.results import (
    BuildResult,
    Layer,
    TagPush,
    budget_report,
    instruction_of,
    largest_layers,
)
from noderr_deploy.ui.output import to_json

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def test_tags_follow_the_network_convention() -> None:
    assert image_tags("ghcr.io/noderrxyz", "noderr-node-os", "1.4.0", "oracle") == (
        "ghcr.io/noderrxyz/noderr-node-os:1.4.0-oracle",
        "ghcr.io/noderrxyz/noderr-node-os:latest-oracle",
    )


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("127.0.0.1:5000/noderr/img:1.0-all", ("127.0.0.1:5000/noderr/img", "1.0-all")),
        ("127.0.0.1:5000/noderr/img", ("127.0.0.1:5000/noderr/img", "latest")),
        ("img:x", ("img", "x")),
    ],
)
def test_split_reference(reference: str, expected: tuple[str, str]) -> None:
    assert split_reference(reference) == expected


@pytest.mark.parametrize("version", ["1.4.0", "v1.4.0-3-gabc1234-dirty", "0.0.0-dev", "_x"])
def test_valid_versions(version: str) -> None:
    assert check_version(version, ["guardian"]) == version


@pytest.mark.parametrize("version", ["", "-1", ".1", "1.0/2", "1.0+build", "a b", "x" * 120])
def test_invalid_versions_are_usage_errors(version: str) -> None:
    with pytest.raises(
        UsageError, match=r"^--version .* (is not a valid image tag|is empty|is too long)"
    ):
        check_version(version, ["guardian"])


@pytest.mark.parametrize("registry", ["ghcr.io/noderrxyz", "127.0.0.1:5000", "localhost:5000/a/b"])
def test_valid_registries(registry: str) -> None:
    assert check_registry(registry + "/") == registry


@pytest.mark.parametrize("registry", ["https://ghcr.io/x", "", "ghcr.io/UPPER", "a b"])
def test_invalid_registries(registry: str) -> None:
    with pytest.raises(UsageError, match="is not a registry"):
        check_registry(registry)


def test_build_args_precedence_and_reserved_names() -> None:
    args = build_args(
        "oracle",
        ["types", "ml"],
        "1.0.0",
        "node:20-alpine",
        configured={"NODE_ENV": "production", "A": "yaml"},
        overrides={"A": "flag"},
    )
    assert args == {
        "NODE_ENV": "production",
        "A": "flag",
        "TIER": "oracle",
        "PACKAGES": "types ml",
        "VERSION": "1.0.0",
        "BASE_IMAGE": "node:20-alpine",
    }
    # The reserved names are refused by config.rules (tests/config/test_rules.py).


def test_labels() -> None:
    labels = image_labels(
        image="noderr-node-os",
        tier="oracle",
        beacon_tier=2,
        packages=["types", "ml"],
        version="1.0.0",
        created=NOW,
        git=GitInfo("1.0.0", "abc123", "https://github.com/noderrxyz/node.git"),
        configured={"team": "oracle", "org.opencontainers.image.vendor": "Noderr Labs"},
    )
    assert labels == {
        "org.opencontainers.image.title": "noderr-node-os-oracle",
        "org.opencontainers.image.version": "1.0.0",
        "org.opencontainers.image.created": "2026-11-26T12:00:00Z",
        "org.opencontainers.image.vendor": "Noderr Labs",
        "org.opencontainers.image.revision": "abc123",
        "org.opencontainers.image.source": "https://github.com/noderrxyz/node.git",
        "team": "oracle",
        "xyz.noderr.tier": "oracle",
        "xyz.noderr.packages": "types,ml",
        "xyz.noderr.closure": "types,ml",
        "xyz.noderr.beacon-tier": "2",
    }


def fake_git(answers: dict[str, str | None]) -> object:
    def run(args: Sequence[str], cwd: Path) -> str | None:
        return answers.get(args[0])

    return run


def test_read_git_strips_credentials_from_the_source() -> None:
    git = read_git(
        Path(),
        fake_git(  # type: ignore[arg-type]
            {
                "config": "https://user:ghp_token@github.com/noderrxyz/node.git",
                "describe": "v1.2.0-dirty",
                "rev-parse": "abc",
                "log": "1780000000",
            }
        ),
    )
    assert git == GitInfo(
        "v1.2.0-dirty",
        "abc",
        "https://github.com/noderrxyz/node.git",
        datetime(2026, 5, 28, 20, 26, 40, tzinfo=UTC),
    )


def test_read_git_outside_a_repository(tmp_path: Path) -> None:
    assert read_git(tmp_path) == GitInfo(None, None, None, None)


def test_created_label_is_the_commit_time_unless_source_date_epoch() -> None:
    config = load_config(REPO / "tiers.yaml")
    settings = BuildSettings(registry="r", version="1")
    committed = GitInfo(committed=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    tier = config.tier("all")
    plan = plan_build(config, tier, settings, git=committed, clock=lambda: NOW)
    assert plan.labels["org.opencontainers.image.created"] == "2026-01-02T03:04:05Z"
    plan = plan_build(config, tier, settings, git=committed, now=NOW, clock=lambda: NOW)
    assert plan.labels["org.opencontainers.image.created"] == "2026-11-26T12:00:00Z"


def test_tiers_are_built_in_extends_order() -> None:
    config = load_config(REPO / "tiers.yaml")
    assert [t.name for t in select_tiers(config, ["guardian", "all", "oracle"], False)] == [
        "all",
        "oracle",
        "guardian",
    ]
    assert [t.name for t in select_tiers(config, [], True)] == ["all", "oracle", "guardian"]
    with pytest.raises(ConfigError, match=r"unknown tier 'nope' .*known tiers: all, oracle"):
        select_tiers(config, ["nope"], False)
    with pytest.raises(UsageError, match="--tier, or use --all"):
        select_tiers(config, [], False)
    with pytest.raises(UsageError, match="not both"):
        select_tiers(config, ["all"], True)


def test_plan_of_the_shipped_tiers() -> None:
    config = load_config(REPO / "tiers.yaml")
    settings = BuildSettings(registry="127.0.0.1:5000/n", version="1.0.0", base_image="base:1")
    plans = [
        plan_build(config, t, settings, git=GitInfo(), now=NOW, clock=lambda: NOW)
        for t in select_tiers(config, [], True)
    ]
    assert [len(p.packages) for p in plans] == [6, 11, 17]
    guardian = plans[2]
    assert guardian.tags == (
        "127.0.0.1:5000/n/noderr-node-os:1.0.0-guardian",
        "127.0.0.1:5000/n/noderr-node-os:latest-guardian",
    )
    assert guardian.build_args["BASE_IMAGE"] == "base:1"
    assert guardian.build_args["PACKAGES"].split() == list(guardian.packages)
    assert guardian.labels["xyz.noderr.beacon-tier"] == "1"
    assert guardian.budget_bytes == 2_500_000_000
    sent = {p.split("/")[1] for p in guardian.context.paths if p.startswith("packages/")}
    assert sent == set(guardian.packages)
    doc = json.loads(to_json(plans[0].document()))
    assert list(doc) == [
        "tier", "tags", "packages", "buildArgs", "labels", "dockerfile", "contextFiles",
        "contextBytes", "budgetBytes", "notes",
    ]  # fmt: skip
    assert doc["contextFiles"] == plans[0].context.file_count
    assert doc["contextBytes"] == plans[0].context.tar_bytes > 0


@pytest.mark.parametrize(
    ("created_by", "instruction"),
    [
        ("/bin/sh -c #(nop) COPY dir:ab12 in /app ", "COPY dir:ab12 in /app"),
        ('/bin/sh -c #(nop)  CMD ["node"]', 'CMD ["node"]'),
        ("/bin/sh -c set -eu;   addgroup x", "RUN set -eu; addgroup x"),
        ("|2 PACKAGES=types utils VERSION=1 /bin/sh -c pnpm install", "RUN pnpm install"),
        ("", "(base image layer)"),
        ("Imported from -", "Imported from -"),
    ],
)
def test_instruction_of(created_by: str, instruction: str) -> None:
    assert instruction_of(created_by) == instruction


def test_largest_layers_and_report() -> None:
    history = [
        {"CreatedBy": f"/bin/sh -c #(nop) COPY file:{i} in /", "Size": size}
        for i, size in enumerate([0, 10, 5_000_000, 300, 0, 2_000_000_000, 40, 7])
    ]
    layers = largest_layers(history)
    assert [la.size for la in layers] == [2_000_000_000, 5_000_000, 300, 40, 10]
    report = budget_report("all", 2_005_000_357, 500_000_000, layers)
    assert report[0] == (
        "tier all: image 2.01 GB (2005000357 bytes) > budget 500.00 MB (500000000 bytes),"
        " 1.51 GB over"
    )
    assert report[1] == "5 largest layers:"
    assert report[2] == "     2.00 GB  COPY file:5 in /"
    assert len(report) == 7


def test_result_json_contract() -> None:
    result = BuildResult(
        tier="all",
        image_id="sha256:abc",
        tags=("r/i:1-all", "r/i:latest-all"),
        size_bytes=100,
        budget_bytes=99,
        duration_seconds=1.23456,
        layers=[Layer("x", 100)],
    )
    # Compared as text: key order and types are the contract, not only the values.
    assert to_json([result.document()]) == json.dumps(
        [
            {
                "tier": "all",
                "imageId": "sha256:abc",
                "tags": ["r/i:1-all", "r/i:latest-all"],
                "sizeBytes": 100,
                "budgetBytes": 99,
                "withinBudget": False,
                "durationSeconds": 1.235,
                "pushed": False,
                "digest": None,
                "pushes": [],
                "saved": None,
            }
        ],
        indent=2,
    )
    result.pushes = [TagPush("r/i:1-all", "sha256:d1"), TagPush("r/i:latest-all")]
    result.pushed, result.digest = True, "sha256:d1"
    result.saved = SavedTarball("/out/i-1-all.tar", "ab" * 32, 4096)
    document = json.loads(to_json(result.document()))
    assert document["pushes"] == [
        {"tag": "r/i:1-all", "pushed": True, "digest": "sha256:d1"},
        {"tag": "r/i:latest-all", "pushed": False, "digest": None},
    ]
    assert document["saved"] == {"path": "/out/i-1-all.tar", "sha256": "ab" * 32, "sizeBytes": 4096}
    assert isinstance(document["durationSeconds"], float) and document["pushed"] is True


@pytest.mark.parametrize(
    ("remote", "label"),
    [
        ("https://ci:tok@github.com/o/r.git", "https://github.com/o/r.git"),
        ("HTTPS://ci:tok@GitHub.com/o/r.git", "https://github.com/o/r.git"),
        ("HtTpS://tok@github.com/o/r?token=abc#frag", "https://github.com/o/r"),
        ("https://github.com:8443/o/r", "https://github.com:8443/o/r"),
        (
            "git@github.com:Noderrxyz/noderr-node-os.git",
            "ssh://github.com/Noderrxyz/noderr-node-os.git",
        ),
        ("ssh://git:pw@gitlab.example.com/o/r", "ssh://gitlab.example.com/o/r"),
        ("/home/ci/checkouts/node", None),
        ("../node.git", None),
        ("file:///srv/git/node.git", None),
        ("FILE:///srv/git/node.git", None),
        ("C:\\src\\node", None),
        ("https://github.com/o/r\x1b[31m", None),
        ("https://[::1", None),
    ],
)
def test_source_label_is_public(remote: str, label: str | None) -> None:
    from noderr_deploy.images.git import public_source

    assert public_source(remote) == label


def test_read_git_of_a_real_repository(tmp_path: Path) -> None:
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            env={"GIT_COMMITTER_DATE": "1780000000 +0000", "PATH": "/usr/bin:/bin"},
        )

    git("init", "-q")
    (tmp_path / "package.json").write_text("{}\n")
    git("add", "-A")
    git("commit", "-qm", "first")
    git("tag", "v1.2.3")
    git("remote", "add", "origin", "https://ci:secret-token@github.com/noderrxyz/node.git")
    info = read_git(tmp_path)
    assert info.describe == "v1.2.3"
    assert info.revision is not None and len(info.revision) == 40
    assert info.source == "https://github.com/noderrxyz/node.git"
    assert info.committed == datetime(2026, 5, 28, 20, 26, 40, tzinfo=UTC)
    (tmp_path / "package.json").write_text('{"changed": true}\n')
    assert read_git(tmp_path).describe == "v1.2.3-dirty"
