"""`tiers --check` refuses exactly what `build --all --dry-run` refuses, with the same message.

Both call the same rules (noderr_deploy/config/rules.py), workspace check and preflight; the
property below generates configurations mixing good and bad values of every kind the build
checks, and runs both commands on each.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from noderr_deploy.cli import app

runner = CliRunner()
# No flag, no variable: the build's values are tiers.yaml's and the defaults, as --check's.
CLEAN_ENV: dict[str, str | None] = {
    "NODERR_IMAGE_VERSION": None,
    "NODERR_REGISTRY": None,
    "NODERR_BASE_IMAGE": None,
    "NODERR_CONFIG": None,
    "SOURCE_DATE_EPOCH": "1780000000",
}

CASES = st.fixed_dictionaries(
    {
        "registry": st.sampled_from(
            [None, "127.0.0.1:5000/ok", "ghcr.io/UP", "https://x.io", "a b"]
        ),
        "workspace": st.sampled_from([".", "missing", "afile"]),
        "tier": st.sampled_from(["all", "g" * 118, "g" * 119, "g" * 121, "g" * 122]),
        "base_image": st.sampled_from([None, "node:20", "Bad Image", "x@sha256:short"]),
        "build_arg": st.sampled_from([None, "NODE_ENV", "TIER", "BASE_IMAGE"]),
        "label": st.sampled_from([None, "team", "xyz.noderr.closure"]),
        "package": st.sampled_from(["core", "ghost"]),
        "copy": st.sampled_from(["packages/core", "missing.txt"]),
        "child": st.booleans(),
    }
)


def write_project(root: Path, case: dict[str, object]) -> Path:
    ws = root / "ws"
    (ws / "packages" / "core").mkdir(parents=True)
    (ws / "packages" / "core" / "package.json").write_text('{"name": "@noderr/core"}')
    (ws / "package.json").write_text('{"name": "root"}')
    (root / "afile").write_text("")
    (root / "df").mkdir()
    (root / "df" / "Dockerfile").write_text(
        f"ARG BASE_IMAGE\nFROM ${{BASE_IMAGE}}\nCOPY {case['copy']} /app/\n"
    )
    tier: dict[str, object] = {
        "beacon_tier": 0,
        "size_budget": "1GB",
        "packages": [case["package"]],
    }
    if case["base_image"] is not None:
        tier["base_image"] = case["base_image"]
    if case["build_arg"] is not None:
        tier["build_args"] = {case["build_arg"]: "x"}
    if case["label"] is not None:
        tier["labels"] = {case["label"]: "y"}
    tiers = {str(case["tier"]): tier}
    if case["child"]:
        tiers["oracle"] = {"extends": case["tier"], "beacon_tier": 2}
    document: dict[str, object] = {
        "workspace": "ws" if case["workspace"] == "." else case["workspace"],
        "dockerfile": "df/Dockerfile",
        "tiers": tiers,
    }
    if case["registry"] is not None:
        document["registry"] = case["registry"]
    path = root / "tiers.yaml"
    path.write_text(json.dumps(document, indent=2))  # JSON is YAML, with positions
    return path


@settings(max_examples=80, deadline=None)
@given(CASES)
def test_tiers_check_fails_iff_build_dry_run_fails_with_the_same_message(
    case: dict[str, object],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = write_project(Path(directory), case)
        check = runner.invoke(app, ["tiers", "--check", "-c", str(path)], env=CLEAN_ENV)
        build = runner.invoke(app, ["build", "--all", "--dry-run", "-c", str(path)], env=CLEAN_ENV)
    assert check.exception is None or isinstance(check.exception, SystemExit)
    assert build.exception is None or isinstance(build.exception, SystemExit)
    assert (check.exit_code == 0) == (build.exit_code == 0), (check.stderr, build.stderr)
    if check.exit_code != 0:
        assert check.exit_code == build.exit_code == 2
        assert check.stderr == build.stderr
        assert check.stderr.startswith("error: ") and "internal error" not in check.stderr
