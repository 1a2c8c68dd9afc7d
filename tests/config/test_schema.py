"""tiers.yaml: inheritance, defaults, discovery, and every class of error with its position."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from noderr_deploy.config.locate import discover_config
from noderr_deploy.config.schema import DEFAULT_BASE_IMAGE, check_workspace, load_config
from noderr_deploy.errors import ConfigError, ExitCode
from tests.conftest import REPO

MINIMAL = "tiers:\n  all: {beacon_tier: 0, size_budget: 500MB, packages: [types]}\n"


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.exit_code == ExitCode.USAGE
    return [info.value.message, *info.value.details]


def test_shipped_tiers_yaml_resolves_the_three_tiers() -> None:
    config = load_config(REPO / "tiers.yaml")
    assert [t.name for t in config.tiers] == ["all", "oracle", "guardian"]
    all_, oracle, guardian = config.tiers
    assert len(all_.packages) == 6
    assert len(oracle.packages) == 11
    assert len(guardian.packages) == 17
    assert oracle.packages[:6] == all_.packages
    assert guardian.packages[:11] == oracle.packages
    assert oracle.own_packages == ("ml", "quant-research", "market-intel", "strategy", "capital-ai")
    assert (all_.beacon_tier, oracle.beacon_tier, guardian.beacon_tier) == (0, 2, 1)
    assert (all_.size_budget_bytes, oracle.size_budget_bytes, guardian.size_budget_bytes) == (
        500_000_000,
        1_500_000_000,
        2_500_000_000,
    )
    assert config.rollout.plan().cohort_percentage == 25
    assert config.rollback.unhealthy_threshold == pytest.approx(0.10)


def test_defaults_for_every_optional_top_level_key(write_config: Any) -> None:
    config = load_config(write_config(MINIMAL))
    assert config.image == "noderr-node-os"
    assert config.registry == "ghcr.io/noderrxyz"
    assert config.workspace == config.path.parent / "."
    assert config.tiers[0].dockerfile == config.path.parent / "dockerfiles/Dockerfile"
    assert config.tiers[0].base_image == DEFAULT_BASE_IMAGE
    assert (config.rollout.canary_percentage, config.rollout.cohort_percentage) == (5, 25)
    assert config.rollout.cohort_delay_hours == 24
    assert config.rollback.min_nodes == 1
    assert config.beacon.rpc_url is None


def test_inheritance_overrides_and_merges(write_config: Any) -> None:
    path = write_config(
        """
tiers:
  base:
    beacon_tier: 0
    size_budget: 1GiB
    base_image: debian:12
    dockerfile: a/Dockerfile
    packages: [types]
    build_args: {A: "1", B: "2"}
    labels: {team: core, version: 3}
  mid:
    extends: base
    beacon_tier: 2
    build_args: {B: "own"}
    labels: {team: oracle}
  leaf:
    extends: mid
    size_budget: 2.5GB
    dockerfile: b/Dockerfile
    packages: [risk]
"""
    )
    base, mid, leaf = load_config(path).tiers
    assert mid.packages == ("types",)
    assert mid.own_packages == ()
    assert mid.size_budget_bytes == 1024**3
    assert mid.base_image == "debian:12"
    assert mid.dockerfile == path.parent / "a/Dockerfile"
    assert mid.build_args == {"A": "1", "B": "own"}
    assert mid.labels == {"team": "oracle", "version": "3"}
    assert leaf.beacon_tier == 2
    assert leaf.size_budget_bytes == 2_500_000_000
    assert leaf.dockerfile == path.parent / "b/Dockerfile"
    assert leaf.packages == ("types", "risk")
    assert base.extends is None
    assert leaf.extends == "mid"


def test_tiers_come_parents_first_whatever_the_file_order(write_config: Any) -> None:
    path = write_config(
        """
tiers:
  guardian: {extends: oracle, packages: [c]}
  oracle: {extends: all, packages: [b]}
  all: {beacon_tier: 0, size_budget: 1GB, packages: [a]}
"""
    )
    assert [t.name for t in load_config(path).tiers] == ["all", "oracle", "guardian"]


def test_two_tiers_may_share_a_beacon_slot(write_config: Any) -> None:
    path = write_config(
        "tiers:\n  a: {beacon_tier: 1, size_budget: 1GB}\n  b: {beacon_tier: 1, size_budget: 1GB}\n"
    )
    assert [t.beacon_tier for t in load_config(path).tiers] == [1, 1]


@pytest.mark.parametrize(
    ("size", "expected"),
    [("500MB", 500_000_000), ("1.5GB", 1_500_000_000), ("512MiB", 512 * 1024**2), ("12kB", 12_000),
     ("3KiB", 3072), ("42B", 42), ("7", 7), ("2GiB", 2 * 1024**3)],
)  # fmt: skip
def test_sizes(write_config: Any, size: str, expected: int) -> None:
    path = write_config(f"tiers:\n  all: {{beacon_tier: 0, size_budget: {size}}}\n")
    assert load_config(path).tiers[0].size_budget_bytes == expected


def test_missing_file(tmp_path: Path) -> None:
    (message,) = problems_of(tmp_path / "nope.yaml")
    assert message == f"{tmp_path / 'nope.yaml'}: configuration file not found"


def test_empty_file(write_config: Any) -> None:
    path = write_config("# nothing but a comment\n")
    (message,) = problems_of(path)
    assert message == f"{path}:1:1: the file is empty (it needs at least a 'tiers' mapping)"


def test_malformed_yaml_names_the_line(write_config: Any) -> None:
    path = write_config("image: x\ntiers:\n  all: {beacon_tier: 0\n")
    (message,) = problems_of(path)
    assert message.startswith(f"{path}:4:1: malformed YAML: ")


def test_top_level_not_a_mapping(write_config: Any) -> None:
    path = write_config("- all\n- oracle\n")
    assert problems_of(path)[1] == (
        f"{path}:1:1: the top level must be a mapping of keys such as 'tiers'"
    )


def test_wrong_type(write_config: Any) -> None:
    path = write_config("tiers:\n  all: {beacon_tier: zero, size_budget: 1GB}\n")
    assert problems_of(path)[1] == (
        f"{path}:2:22: tiers.all.beacon_tier: Input should be a valid integer,"
        " unable to parse string as an integer"
    )


def test_unknown_key_points_at_the_key(write_config: Any) -> None:
    path = write_config(MINIMAL + "registy: ghcr.io/x\n")
    assert problems_of(path)[1] == f"{path}:3:1: registy: unknown key"


def test_unknown_key_inside_a_tier(write_config: Any) -> None:
    path = write_config(
        "tiers:\n  all:\n    beacon_tier: 0\n    size_budget: 1GB\n    pakages: []\n"
    )
    assert problems_of(path)[1] == f"{path}:5:5: tiers.all.pakages: unknown key"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        # The plan's rules are shared with noderr cohort's flags (noderr_deploy.cohorts).
        (
            "rollout: {canary_percentage: 101}",
            "rollout.canary_percentage: 101 is not within 0..100",
        ),
        ("rollout: {cohort_percentage: -1}", "rollout.cohort_percentage: -1 is not within 0..100"),
        ("rollout: {cohort_delay_hours: .nan}", "rollout.cohort_delay_hours: nan is not a finite"),
        ("rollback: {unhealthy_threshold: 1.5}", "rollback.unhealthy_threshold: Input should be"),
        ("rollback: {error_rate_threshold: -0.1}", "rollback.error_rate_threshold: Input should"),
        ("rollback: {min_nodes: 0}", "rollback.min_nodes: Input should be greater"),
    ],
)
def test_out_of_range(write_config: Any, section: str, expected: str) -> None:
    path = write_config(section + "\n" + MINIMAL)
    problem = problems_of(path)[1]
    assert problem.startswith(f"{path}:1:")
    assert expected in problem


def test_a_plan_with_cohort4_empty_is_accepted(write_config: Any) -> None:
    # The engine's cumulative rule runs it: cohort3 ends at bucket 99.
    path = write_config("rollout:\n  canary_percentage: 30\n  cohort_percentage: 25\n" + MINIMAL)
    plan = load_config(path).rollout.plan()
    assert plan.bounds()["cohort3"] == (80, 100)
    assert plan.bounds()["cohort4"] == (100, 100)


def test_a_fractional_delay_is_refused(write_config: Any) -> None:
    path = write_config("rollout:\n  cohort_delay_hours: 1.5\n" + MINIMAL)
    assert problems_of(path)[1] == (
        f"{path}:2:23: rollout.cohort_delay_hours: 1.5 is not a whole number of hours"
        " (the VersionBeacon stores whole hours)"
    )


def test_exactly_full_plan_is_accepted(write_config: Any) -> None:
    path = write_config("rollout: {canary_percentage: 25, cohort_percentage: 25}\n" + MINIMAL)
    assert load_config(path).rollout.plan().bounds()["cohort4"] == (100, 100)


def test_inheritance_errors(write_config: Any) -> None:
    path = write_config(
        """tiers:
  all: {beacon_tier: 0, size_budget: 1GB, packages: [a, b, a]}
  oracle: {extends: alll, packages: [c]}
  guardian: {extends: all, packages: [b]}
  x: {extends: y, beacon_tier: 1, size_budget: 1GB}
  y: {extends: x}
  lonely: {packages: [z]}
"""
    )
    message, *lines = problems_of(path)
    assert message == f"{path}: 6 problems in the configuration"
    assert lines == [
        f"{path}:2:60: tiers.all.packages.2: package 'a' is already listed by this tier",
        f"{path}:3:21: tiers.oracle.extends: unknown parent tier 'alll'"
        " (known tiers: all, oracle, guardian, x, y, lonely)",
        f"{path}:4:39: tiers.guardian.packages.0: package 'b' is already listed by its parent"
        " tiers",
        f"{path}:6:16: tiers.y.extends: inheritance cycle: x -> y -> x",
        f"{path}:7:11: tiers.lonely: no beacon_tier, neither its own nor inherited",
        f"{path}:7:11: tiers.lonely: no size_budget, neither its own nor inherited",
    ]


def test_all_problems_of_a_file_are_reported_together(write_config: Any) -> None:
    path = write_config(
        """image: noderr-node-os
bogus: 1
rollback: {unhealthy_threshold: 1.5}
tiers:
  all: {beacon_tier: 0, size_budget: 5XB}
  oracle: {extends: nothere, beacon_tier: 2}
"""
    )
    message, *lines = problems_of(path)
    assert message == f"{path}: 4 problems in the configuration"
    assert lines == [
        f"{path}:2:1: bogus: unknown key",
        f"{path}:3:33: rollback.unhealthy_threshold: Input should be less than or equal to 1",
        f"{path}:5:38: tiers.all.size_budget: unknown size unit 'XB' in '5XB'"
        " (B, kB, MB, GB, KiB, MiB, GiB)",
        f"{path}:6:21: tiers.oracle.extends: unknown parent tier 'nothere'"
        " (known tiers: all, oracle)",
    ]


def test_duplicate_keys_are_an_error(write_config: Any) -> None:
    path = write_config(MINIMAL + "  all: {beacon_tier: 1, size_budget: 1GB}\n")
    assert f"{path}:3:3: tiers.all: duplicate key" in problems_of(path)


def test_no_tiers_at_all(write_config: Any) -> None:
    path = write_config("image: noderr-node-os\n")
    assert problems_of(path)[1] == f"{path}:1:1: tiers: required key is missing"


def test_bad_tier_and_package_names(write_config: Any) -> None:
    path = write_config(
        "tiers:\n  All: {beacon_tier: 0, size_budget: 1GB, packages: ['@noderr/x']}\n"
    )
    assert problems_of(path)[1:] == [
        f"{path}:2:3: tiers.All: 'All': use lowercase letters, digits, '.', '_' and '-'"
        " (packages are named without their '@noderr/' scope)",
        f"{path}:2:54: tiers.All.packages.0: '@noderr/x': use lowercase letters, digits, '.',"
        " '_' and '-' (packages are named without their '@noderr/' scope)",
    ]


def test_discovery_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = tmp_path / "repo"
    child = parent / "a" / "b"
    child.mkdir(parents=True)
    (parent / "tiers.yaml").write_text(MINIMAL)
    assert discover_config(None, cwd=child) == parent / "tiers.yaml"
    (child / "tiers.yaml").write_text(MINIMAL)
    assert discover_config(None, cwd=child) == child / "tiers.yaml"
    explicit = tmp_path / "other.yaml"
    explicit.write_text(MINIMAL)
    assert discover_config(explicit, cwd=child) == explicit
    with pytest.raises(ConfigError, match=r"other-missing\.yaml: configuration file not found"):
        discover_config(tmp_path / "other-missing.yaml", cwd=child)


def test_discovery_finds_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no tiers\.yaml in .* or any parent directory"):
        discover_config(None, cwd=tmp_path)


def test_check_workspace_names_each_missing_directory(write_config: Any) -> None:
    path = write_config(
        "tiers:\n  all: {beacon_tier: 0, size_budget: 1GB, packages: [types, utils]}\n"
    )
    (path.parent / "packages" / "types").mkdir(parents=True)
    (path.parent / "packages" / "types" / "package.json").write_text("{}")
    (path.parent / "dockerfiles").mkdir()
    (path.parent / "dockerfiles" / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ConfigError) as info:
        check_workspace(load_config(path))
    assert info.value.details == [
        f"{path}: tier 'all': package 'utils': no {path.parent / 'packages/utils/package.json'}"
    ]


@pytest.mark.parametrize(
    ("budget", "problem"),
    [
        ("0", "size_budget: Input should be greater than 0"),
        ("0MB", "size_budget: Input should be greater than 0"),
        ("0.4B", "size_budget: '0.4B' is not a whole number of bytes"),
        ("\uff15\uff10\uff10MB", "size_budget: not a size: '\uff15\uff10\uff10MB'"),
    ],
)
def test_size_budgets_are_exact_and_positive(write_config: Any, budget: str, problem: str) -> None:
    path = write_config(f"tiers:\n  all: {{beacon_tier: 0, size_budget: {budget}}}\n")
    assert problems_of(path)[1].startswith(f"{path}:2:38: tiers.all.{problem}")


def test_size_budget_is_read_exactly(write_config: Any) -> None:
    config = load_config(write_config("tiers:\n  all: {beacon_tier: 0, size_budget: 2.01GB}\n"))
    assert config.tiers[0].size_budget_bytes == 2_010_000_000
