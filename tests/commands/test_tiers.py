"""`noderr tiers` through the CLI: table, JSON contract, --check, and config errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from noderr_deploy.cli import app

runner = CliRunner()

CONFIG = """\
registry: registry.example/noderr
tiers:
  all: {beacon_tier: 0, size_budget: 500MB, packages: [types, utils]}
  oracle: {extends: all, beacon_tier: 2, size_budget: 1.5GB, packages: [ml],
           labels: {team: oracle}, build_args: {NODE_ENV: production}}
"""


def workspace(tmp_path: Path, packages: list[str]) -> None:
    for name in packages:
        (tmp_path / "packages" / name).mkdir(parents=True)
        (tmp_path / "packages" / name / "package.json").write_text("{}")
    (tmp_path / "dockerfiles").mkdir()
    (tmp_path / "dockerfiles" / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM $BASE_IMAGE\n")


def test_plain_table_when_piped(write_config: Any) -> None:
    path = write_config(CONFIG)
    result = runner.invoke(app, ["tiers", "-c", str(path)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"Tiers from {path}\n"
        "tier    extends  beacon tier  packages             pulled in  size budget  dockerfile"
        "              base image\n"
        "all     -        0            2: types, utils      -          500.00 MB    dockerfiles"
        "/Dockerfile  node:20-alpine\n"
        "oracle  all      2            3: types, utils, ml  -          1.50 GB      dockerfiles"
        "/Dockerfile  node:20-alpine\n"
    )


def test_the_table_says_why_each_package_came_in(tmp_path: Path) -> None:
    """Pulled-in packages are named with the package that needs them; a directory name is
    outside text, shown escaped when piped and exact in JSON."""
    workspace(tmp_path, [])
    for directory, name, deps in [
        ("market-data", "@noderr/market-data", {"@noderr/core": "workspace:*"}),
        ("core", "@noderr/core", {"@noderr/evil": "workspace:*"}),
        ("ev\x1b[2Jil", "@noderr/evil", {}),
        ("ml", "@noderr/ml", {"@noderr/core": "workspace:^"}),
    ]:
        (tmp_path / "packages" / directory).mkdir(parents=True)
        (tmp_path / "packages" / directory / "package.json").write_text(
            json.dumps({"name": name, "dependencies": deps})
        )
    path = tmp_path / "tiers.yaml"
    path.write_text(
        "tiers:\n  all: {beacon_tier: 0, size_budget: 1GB, packages: [market-data]}\n"
        "  oracle: {extends: all, beacon_tier: 2, packages: [ml]}\n"
    )
    result = runner.invoke(app, ["tiers", "-c", str(path)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "\x1b" not in result.stdout
    assert "core (via market-data), ev\\x1b[2Jil (via core)" in lines[2]
    assert "core (via market-data), ev\\x1b[2Jil (via core)" in lines[3]  # not via ml: nearest
    tiers = json.loads(runner.invoke(app, ["tiers", "--json", "-c", str(path)]).stdout)["tiers"]
    assert tiers[0]["dependencyOf"] == {"core": "market-data", "ev\x1b[2Jil": "core"}


def test_json_contract(write_config: Any) -> None:
    path = write_config(CONFIG)
    result = runner.invoke(app, ["tiers", "--json", "-c", str(path)])
    assert result.exit_code == 0
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document == {
        "config": str(path),
        "tiers": [
            {
                "name": "all",
                "extends": None,
                "beaconTier": 0,
                "packages": ["types", "utils"],
                "ownPackages": ["types", "utils"],
                "sizeBudgetBytes": 500_000_000,
                "dockerfile": str(path.parent / "dockerfiles/Dockerfile"),
                "baseImage": "node:20-alpine",
                "buildArgs": {},
                "labels": {},
                "closure": ["types", "utils"],
                "dependencyOf": {},
                "devDependencies": {"setting": "auto", "followed": False},
            },
            {
                "name": "oracle",
                "extends": "all",
                "beaconTier": 2,
                "packages": ["types", "utils", "ml"],
                "ownPackages": ["ml"],
                "sizeBudgetBytes": 1_500_000_000,
                "dockerfile": str(path.parent / "dockerfiles/Dockerfile"),
                "baseImage": "node:20-alpine",
                "buildArgs": {"NODE_ENV": "production"},
                "labels": {"team": "oracle"},
                "closure": ["types", "utils", "ml"],
                "dependencyOf": {},
                "devDependencies": {"setting": "auto", "followed": False},
            },
        ],
    }


def test_config_from_environment(write_config: Any) -> None:
    path = write_config(CONFIG)
    result = runner.invoke(app, ["tiers", "--json"], env={"NODERR_CONFIG": str(path)})
    assert json.loads(result.stdout)["config"] == str(path)


def test_check_passes_on_a_complete_workspace(write_config: Any, tmp_path: Path) -> None:
    path = write_config(CONFIG)
    workspace(tmp_path, ["types", "utils", "ml"])
    result = runner.invoke(app, ["tiers", "--check", "-c", str(path)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        f"{path}: 2 tiers, all package directories present, every Dockerfile's sources in"
        " its context\n"
    )


def test_check_runs_the_build_preflight(write_config: Any, tmp_path: Path) -> None:
    path = write_config(CONFIG)
    workspace(tmp_path, ["types", "utils", "ml"])
    dockerfile = tmp_path / "dockerfiles" / "Dockerfile"
    dockerfile.write_text("FROM node:22-alpine\nCOPY packages/ml /ml\nCOPY docker/x.sh /\n")
    result = runner.invoke(app, ["tiers", "--check", "-c", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: 3 problem(s) in the build contexts\n"
        f"  tier all: 2 sources of {dockerfile} are not in its context\n"
        f"    {dockerfile}:2: COPY source 'packages/ml' is not in the context of tier all:"
        " package ml is not in tier all (add it to the tier's packages)\n"
        f"    {dockerfile}:3: COPY source 'docker/x.sh' is not in the context of tier all:"
        f" {tmp_path}/docker/x.sh does not exist\n"
        f"  {dockerfile}:3: COPY source 'docker/x.sh' is not in the context of tier oracle:"
        f" {tmp_path}/docker/x.sh does not exist\n"
    )
    dockerfile.write_text("FROM node:22-alpine\n")
    result = runner.invoke(app, ["tiers", "--check", "-c", str(path)])
    assert result.exit_code == 0
    assert result.stderr.startswith(
        f"warning: tier all: base_image has no effect: {dockerfile} does not use the"
        " BASE_IMAGE build arg (FROM node:22-alpine at line 1)\n"
    )


def test_check_names_the_missing_package(write_config: Any, tmp_path: Path) -> None:
    path = write_config(CONFIG)
    workspace(tmp_path, ["types", "utils"])
    result = runner.invoke(app, ["tiers", "--check", "-c", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: 1 missing file(s) in the workspace {tmp_path}\n"
        f"  {path}: tier 'oracle': package 'ml': no {tmp_path}/packages/ml/package.json\n"
    )


def test_invalid_config_is_exit_2_with_position(write_config: Any) -> None:
    path = write_config(CONFIG.replace("beacon_tier: 2", "beacon_tier: 300"))
    result = runner.invoke(app, ["tiers", "-c", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {path}: 1 problem in the configuration\n"
        f"  {path}:4:39: tiers.oracle.beacon_tier: Input should be less than or equal to 255\n"
    )


def test_discovers_tiers_yaml_in_a_parent(
    write_config: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    write_config(CONFIG)
    nested = tmp_path / "deep" / "er"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    result = runner.invoke(app, ["tiers", "--json"])
    assert json.loads(result.stdout)["config"] == str(tmp_path / "tiers.yaml")
