"""`noderr build` through the CLI, without an engine: the dry-run plan and every usage error.

Builds, budgets and pushes against the real engine and registry are in
tests/integration/test_build.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]

CONFIG = """\
image: noderr-node-os
registry: registry.example/noderr
workspace: ws
dockerfile: df/Dockerfile
tiers:
  all: {beacon_tier: 0, size_budget: 500MB, packages: [types, utils]}
  oracle: {extends: all, beacon_tier: 2, size_budget: 1.5GB, packages: [ml],
           labels: {team: oracle}, build_args: {NODE_ENV: production}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiers.yaml over three packages of the example workspace (no git repository)."""
    source = REPO / "examples" / "workspace"
    ws = tmp_path / "ws"
    ws.mkdir()
    for name in ("package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml"):
        shutil.copy(source / name, ws / name)
    for name in ("types", "utils", "ml"):
        shutil.copytree(source / "packages" / name, ws / "packages" / name)
    (tmp_path / "df").mkdir()
    (tmp_path / "df" / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    path = tmp_path / "tiers.yaml"
    path.write_text(CONFIG)
    return path


def invoke(args: list[str], env: dict[str, str] | None = None) -> object:
    return runner.invoke(
        app, ["build", *args], env={"SOURCE_DATE_EPOCH": "1780000000", **(env or {})}
    )


def test_dry_run_json_plan(project: Path) -> None:
    result = runner.invoke(
        app,
        ["build", "-c", str(project), "-t", "oracle", "-t", "all", "--dry-run", "--json"],
        env={"SOURCE_DATE_EPOCH": "1780000000", "NODERR_REGISTRY": "127.0.0.1:5000/x"},
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    plans = json.loads(result.stdout)
    assert [p["tier"] for p in plans] == ["all", "oracle"]  # extends order
    oracle = plans[1]
    assert oracle == {
        "tier": "oracle",
        "tags": [
            "127.0.0.1:5000/x/noderr-node-os:0.0.0-dev-oracle",
            "127.0.0.1:5000/x/noderr-node-os:latest-oracle",
        ],
        "packages": ["types", "utils", "ml"],
        "buildArgs": {
            "NODE_ENV": "production",
            "TIER": "oracle",
            "PACKAGES": "types utils ml",
            "VERSION": "0.0.0-dev",
            "BASE_IMAGE": "node:20-alpine",
        },
        "labels": {
            "org.opencontainers.image.title": "noderr-node-os-oracle",
            "org.opencontainers.image.version": "0.0.0-dev",
            "org.opencontainers.image.created": "2026-05-28T20:26:40Z",
            "org.opencontainers.image.vendor": "Noderr",
            "team": "oracle",
            "xyz.noderr.tier": "oracle",
            "xyz.noderr.packages": "types,utils,ml",
            "xyz.noderr.closure": "types,utils,ml",
            "xyz.noderr.beacon-tier": "2",
        },
        "dockerfile": str(project.parent / "df" / "Dockerfile"),
        "contextFiles": 10,
        "contextBytes": oracle["contextBytes"],
        "budgetBytes": 1_500_000_000,
        "notes": [],
    }
    # 10 members: 512-byte header + content padded to 512 each, in 10 kB tar records.
    assert oracle["contextBytes"] % 10240 == 0 and oracle["contextBytes"] >= 10 * 1024


def test_dry_run_table(project: Path) -> None:
    result = invoke(["-c", str(project), "--tier", "all", "--dry-run", "--version", "1.2.0"])
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert result.stdout == (  # type: ignore[attr-defined]
        "Plan for tier all (dry run)\n"
        "setting                                 value\n"
        "tags                                    registry.example/noderr/noderr-node-os:1.2.0-all,"
        " registry.example/noderr/noderr-node-os:latest-all\n"
        "packages                                2: types, utils\n"
        "context                                 8 files, 20480 bytes\n"
        "dockerfile                              df/Dockerfile\n"
        "size budget                             500.00 MB\n"
        "build arg TIER                          all\n"
        "build arg PACKAGES                      types utils\n"
        "build arg VERSION                       1.2.0\n"
        "build arg BASE_IMAGE                    node:20-alpine\n"
        "label org.opencontainers.image.title    noderr-node-os-all\n"
        "label org.opencontainers.image.version  1.2.0\n"
        "label org.opencontainers.image.created  2026-05-28T20:26:40Z\n"
        "label org.opencontainers.image.vendor   Noderr\n"
        "label xyz.noderr.tier                   all\n"
        "label xyz.noderr.packages               types,utils\n"
        "label xyz.noderr.closure                types,utils\n"
        "label xyz.noderr.beacon-tier            0\n"
        "\n"
    )


def test_base_image_flag_and_build_args(project: Path) -> None:
    result = invoke(
        [
            "-c", str(project), "--all", "--dry-run", "--json",
            "--base-image", "local/base:1", "--build-arg", "NODE_ENV=test", "--build-arg", "X=",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    plans = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert plans[1]["buildArgs"]["NODE_ENV"] == "test"
    assert plans[1]["buildArgs"]["X"] == ""
    assert {p["buildArgs"]["BASE_IMAGE"] for p in plans} == {"local/base:1"}


USAGE_ERRORS = [
    (["--dry-run"], "name the tiers to build with --tier, or use --all (known: all, oracle)"),
    (["-t", "nope", "--dry-run"], "unknown tier 'nope' in {config} (known tiers: all, oracle)"),
    (["--all", "-t", "all"], "give either --tier or --all, not both"),
    (["--all", "--version", "1.0/beta"], "--version '1.0/beta' is not a valid image tag:"),
    (["--all", "--registry", "https://x.io/y"], "--registry 'https://x.io/y' is not a registry:"),
    (["--all", "--build-arg", "NOEQUALS"], "--build-arg 'NOEQUALS': expected KEY=VALUE"),
    (["--all", "--build-arg", "TIER=x"], "--build-arg: TIER is set by noderr and cannot be"),
    (
        ["--all", "--metadata-file", "/no/dir/m.json"],
        "--metadata-file /no/dir/m.json: no directory",
    ),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS)
def test_usage_errors_exit_2(project: Path, args: list[str], message: str) -> None:
    result = invoke(["-c", str(project), *args])
    assert result.exit_code == 2, result.stderr  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    assert result.stderr.startswith("error: " + message.format(config=project))  # type: ignore[attr-defined]


def test_half_set_registry_credentials_exit_2(project: Path) -> None:
    result = invoke(["-c", str(project), "--all", "--push"], env={"NODERR_REGISTRY_USER": "ops"})
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.stderr == (  # type: ignore[attr-defined]
        "error: NODERR_REGISTRY_PASSWORD is not set: set both registry variables, or neither\n"
    )


def test_missing_package_directory_exit_2(project: Path) -> None:
    shutil.rmtree(project.parent / "ws" / "packages" / "ml")
    result = invoke(["-c", str(project), "--all", "--dry-run"])
    assert result.exit_code == 2  # type: ignore[attr-defined]
    ml = project.parent / "ws" / "packages" / "ml"
    # The same check, and message, as `noderr tiers --check`.
    assert result.stderr == (  # type: ignore[attr-defined]
        f"error: {project}: 1 missing file(s) in the workspace {project.parent / 'ws'}\n"
        f"  {project}: tier 'oracle': package 'ml': no {ml / 'package.json'}\n"
    )


def test_dead_docker_host_exit_1(project: Path, tmp_path: Path) -> None:
    socket = f"unix://{tmp_path}/dead.sock"
    result = invoke(["-c", str(project), "-t", "all"], env={"DOCKER_HOST": socket})
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert result.stderr == (  # type: ignore[attr-defined]
        f"error: cannot reach the Docker engine at {socket}: No such file or directory\n"
    )


def test_help_has_examples_and_every_variable() -> None:
    result = runner.invoke(app, ["build", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("Examples:", "noderr build --tier oracle --dry-run", "NODERR_REGISTRY",
                 "NODERR_IMAGE_VERSION", "NODERR_BASE_IMAGE", "NODERR_BUILD_NETWORK",
                 "NODERR_REGISTRY_USER"):  # fmt: skip
        assert text in result.output


def test_a_dependency_outside_the_workspace_stops_the_build(
    write_config: Any, tmp_path: Path
) -> None:
    path = write_config("tiers:\n  all: {beacon_tier: 0, size_budget: 1GB, packages: [a]}\n")
    (tmp_path / "packages" / "a").mkdir(parents=True)
    (tmp_path / "packages" / "a" / "package.json").write_text(
        '{"name": "@noderr/a", "dependencies": {"@noderr/ghost": "workspace:*"}}'
    )
    (tmp_path / "dockerfiles").mkdir()
    (tmp_path / "dockerfiles" / "Dockerfile").write_text("FROM scratch\n")
    result = runner.invoke(app, ["build", "--all", "--dry-run", "-c", str(path)])
    assert result.exit_code == 2, result.output
    assert "'@noderr/ghost' ('workspace:*') is not a package of the workspace" in result.stderr


def test_dry_run_metadata_file_holds_the_plan_with_the_umask_mode(project: Path) -> None:
    import os

    target = project.parent / "plan.json"
    old = os.umask(0o027)
    try:
        result = invoke(["-c", str(project), "--all", "--dry-run", "--json",
                         "--metadata-file", str(target)])  # fmt: skip
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert json.loads(target.read_text()) == json.loads(result.stdout)  # type: ignore[attr-defined]
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in project.parent.iterdir() if p.name.startswith(".plan")] == []


@pytest.mark.parametrize("value", ["99999999999999999999", "253402300800", "-1", "1e9", "١٢٣"])
def test_source_date_epoch_out_of_range_is_one_error_line(project: Path, value: str) -> None:
    result = runner.invoke(
        app, ["build", "-c", str(project), "--all", "--dry-run"], env={"SOURCE_DATE_EPOCH": value}
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: SOURCE_DATE_EPOCH=")


def test_docker_host_credentials_are_never_printed(project: Path) -> None:
    for host in ("tcp://ops:s3cr3t-pw@127.0.0.1:1", "tcp://ops:s3cr3t-pw@[::1", "ssh://s3cr3t-pw@"):
        result = invoke(["-c", str(project), "-t", "all"], env={"DOCKER_HOST": host})
        assert result.exit_code == 1, result.stderr  # type: ignore[attr-defined]
        assert "s3cr3t" not in result.stderr + result.stdout  # type: ignore[attr-defined]
        assert result.stderr.startswith("error: cannot reach the Docker engine at ")  # type: ignore[attr-defined]
        assert result.stderr.count("\n") == 1  # type: ignore[attr-defined]


def test_hard_coded_from_is_said_in_the_dry_run(project: Path) -> None:
    dockerfile = project.parent / "df" / "Dockerfile"
    dockerfile.write_text("FROM node:22-alpine AS app\n")
    result = invoke(["-c", str(project), "-t", "all", "--dry-run", "-q"])
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert result.stderr == (  # type: ignore[attr-defined]
        f"warning: tier all: base_image has no effect: {dockerfile} does not use the"
        " BASE_IMAGE build arg (FROM node:22-alpine at line 1)\n"
    )


def test_preflight_failure_is_exit_2_before_any_engine(project: Path, tmp_path: Path) -> None:
    dockerfile = project.parent / "df" / "Dockerfile"
    dockerfile.write_text("ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY packages/ml /ml\n")
    for extra in (["--dry-run"], []):
        result = invoke(["-c", str(project), "-t", "all", *extra],
                        env={"DOCKER_HOST": f"unix://{tmp_path}/dead.sock"})  # fmt: skip
        assert result.exit_code == 2  # type: ignore[attr-defined]
        assert result.stderr == (  # type: ignore[attr-defined]
            f"error: {dockerfile}:3: COPY source 'packages/ml' is not in the context of tier"
            " all: package ml is not in tier all (add it to the tier's packages)\n"
        )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--version", "1.0+b"], {}, "error: --version '1.0+b' is not a valid image tag"),
        ([], {"NODERR_IMAGE_VERSION": "1.0+b"}, "error: NODERR_IMAGE_VERSION='1.0+b' is not"),
        (["--registry", "A B"], {}, "error: --registry 'A B' is not a registry"),
        ([], {"NODERR_REGISTRY": "A B"}, "error: NODERR_REGISTRY='A B' is not a registry"),
        (["--base-image", "Bad"], {}, "error: --base-image 'Bad' is not an image reference"),
        ([], {"NODERR_BASE_IMAGE": "Bad"}, "error: NODERR_BASE_IMAGE='Bad' is not an image"),
    ],
)
def test_a_bad_value_names_the_flag_or_the_variable_it_came_from(
    project: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = invoke(["-c", str(project), "--all", "--dry-run", *args], env=env)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    [line] = result.stderr.splitlines()  # type: ignore[attr-defined]
    assert line.startswith(message)


def test_a_bad_registry_in_tiers_yaml_names_its_line(project: Path) -> None:
    project.write_text(project.read_text().replace("registry.example/noderr", "Reg/UP"))
    result = invoke(["-c", str(project), "--all", "--dry-run"])
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.stderr.startswith(  # type: ignore[attr-defined]
        f"error: {project}:2:11: registry 'Reg/UP' is not a registry"
    )
    check = runner.invoke(app, ["tiers", "--check", "-c", str(project)])
    assert check.stderr == result.stderr  # type: ignore[attr-defined]
