"""The closure of a tier's packages over their ``workspace:`` dependencies."""

from __future__ import annotations

import json
from pathlib import Path

from noderr_deploy.config.workspace import dependency_closure


def package(root: Path, directory: str, **fields: object) -> None:
    path = root / "packages" / directory
    path.mkdir(parents=True, exist_ok=True)
    (path / "package.json").write_text(json.dumps({"name": f"@noderr/{directory}", **fields}))


def monorepo(root: Path) -> Path:
    package(root, "core")
    package(root, "ml-client", dependencies={"@noderr/core": "workspace:^"})
    package(root, "ml", dependencies={"@noderr/ml-client": "workspace:*", "lodash": "^4"})
    package(root, "market-data", dependencies={"@noderr/core": "workspace:*"})
    package(root, "performance")
    package(root, "reputation")
    package(
        root,
        "system-orchestrator",
        dependencies={"@noderr/performance": "workspace:*"},
        optionalDependencies={"@noderr/reputation": "workspace:*"},
        devDependencies={"@noderr/ml": "workspace:*"},
    )
    return root


def test_transitive_dependencies_follow_declared_packages(tmp_path: Path) -> None:
    closure = dependency_closure(monorepo(tmp_path), ["ml", "market-data"])
    assert closure.packages == ("ml", "market-data", "core", "ml-client")
    # Breadth first: core is named by market-data itself, the nearest reason.
    assert closure.dependency_of == {"ml-client": "ml", "core": "market-data"}
    assert closure.problems == ()
    alone = dependency_closure(tmp_path, ["ml"])
    assert alone.packages == ("ml", "core", "ml-client")
    assert alone.dependency_of == {"ml-client": "ml", "core": "ml-client"}


def test_optional_always_dev_only_when_asked(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    plain = dependency_closure(root, ["system-orchestrator"])
    assert plain.packages == ("system-orchestrator", "performance", "reputation")
    dev = dependency_closure(root, ["system-orchestrator"], dev_dependencies=True)
    assert dev.packages == (
        "system-orchestrator", "core", "ml", "ml-client", "performance", "reputation",
    )  # fmt: skip
    assert dev.dependency_of["ml"] == "system-orchestrator"


def test_declared_packages_are_never_reported_as_pulled_in(tmp_path: Path) -> None:
    closure = dependency_closure(monorepo(tmp_path), ["core", "market-data"])
    assert closure.packages == ("core", "market-data")
    assert closure.dependency_of == {}


def test_a_dependency_outside_the_workspace_is_a_problem(tmp_path: Path) -> None:
    package(tmp_path, "a", dependencies={"@noderr/ghost": "workspace:*"})
    closure = dependency_closure(tmp_path, ["a"])
    assert closure.packages == ("a",)
    assert len(closure.problems) == 1
    assert (
        "'@noderr/ghost' ('workspace:*') is not a package of the workspace" in (closure.problems[0])
    )


def test_hostile_package_json_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    for name, text in [("deep", "[" * 100_000), ("bytes", "\xff\xfe"), ("list", "[]")]:
        (tmp_path / "packages" / name).mkdir(parents=True)
        (tmp_path / "packages" / name / "package.json").write_bytes(text.encode("latin-1"))
    closure = dependency_closure(tmp_path, ["deep", "bytes", "list"])
    assert closure.packages == ("deep", "bytes", "list")
    assert len(closure.problems) == 3


def test_cycles_end(tmp_path: Path) -> None:
    package(tmp_path, "a", dependencies={"@noderr/b": "workspace:*"})
    package(tmp_path, "b", dependencies={"@noderr/a": "workspace:*"})
    assert dependency_closure(tmp_path, ["a"]).packages == ("a", "b")


def test_load_config_gives_each_tier_its_closure(tmp_path: Path) -> None:
    from noderr_deploy.config.schema import check_workspace, load_config
    from noderr_deploy.errors import ConfigError

    root = monorepo(tmp_path / "ws")
    package(root, "bad", dependencies={"@noderr/ghost": "workspace:*"})
    path = tmp_path / "tiers.yaml"
    path.write_text(
        "workspace: ws\ntiers:\n  all: {beacon_tier: 0, size_budget: 1GB, packages: [ml]}\n"
        "  more: {extends: all, packages: [bad]}\n"
    )
    config = load_config(path)
    all_, more = config.tiers
    assert all_.packages == ("ml",)
    assert all_.closure == ("ml", "core", "ml-client")
    assert all_.dependency_of == {"ml-client": "ml", "core": "ml-client"}
    assert more.closure == ("ml", "bad", "core", "ml-client")
    try:
        check_workspace(config)
    except ConfigError as exc:
        assert any("'@noderr/ghost'" in line and "'more'" in line for line in exc.details)
    else:
        raise AssertionError("a dependency outside the workspace passed the check")
