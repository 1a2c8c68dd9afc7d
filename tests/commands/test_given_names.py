"""A bad value is named as it was given: its environment variable when the value came
from there, else its flag; ``rollback check --propose`` names its own flags."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noderr_deploy.chain.send import read_keystore
from noderr_deploy.cli import app
from noderr_deploy.errors import InputError

CHAIN = ["--rpc-url", "http://127.0.0.1:1/closed", "--beacon", "0x" + "5F" * 20]
ENV = {"NODERR_CONFIG": None, "NODERR_SAFE_ADDRESS": None, "NODERR_KEYSTORE": None}


def error(args: list[str], **env: str) -> str:
    result = CliRunner().invoke(app, args, env={**ENV, **env})
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    return str(result.stderr.splitlines()[0])


PROPOSE = ["rollback", "propose", "--tier", "oracle", "--reason", "r", "--format", "safe", *CHAIN]


def test_the_safe_is_named_as_given() -> None:
    assert error([*PROPOSE, "--safe", "0x12"]).startswith("error: malformed --safe address '0x12'")
    assert error(PROPOSE, NODERR_SAFE_ADDRESS="0x12").startswith(
        "error: malformed NODERR_SAFE_ADDRESS '0x12'"
    )


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "h.csv"
    path.write_text("nodeId,version,timestamp,cpu,memory,errors\na,1,2026-11-01T12:00:00Z,1,1,0\n")
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--propose-format", "bogus"],
            "error: --propose-format 'bogus': use safe, proposal or tx",
        ),
        (["--propose-format", "safe"], "error: --propose-format safe needs --safe ADDRESS"),
    ],
)
def test_rollback_check_names_its_propose_flags(
    export: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    args = ["rollback", "check", "--health", str(export), "--tier", "oracle", *CHAIN]
    line = error([*args, "--propose", str(tmp_path / "p.json"), *extra])
    assert line.startswith(message), line


def test_a_keystore_is_named_as_given(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    with pytest.raises(InputError) as caught:
        read_keystore(missing, environ={}, prompt=None, flag="NODERR_KEYSTORE")
    assert caught.value.message.startswith(f"NODERR_KEYSTORE {missing}: cannot read")
    (tmp_path / "k.json").write_text(json.dumps({"crypto": []}))
    with pytest.raises(InputError) as caught:
        read_keystore(tmp_path / "k.json", environ={}, prompt=None)
    assert caught.value.message.startswith("--keystore ")


def test_publish_names_the_registry_as_given() -> None:
    args = ["publish", "--tier", "oracle", "--version", "1.0", *CHAIN]
    assert error([*args, "--registry", "Bad Reg"]).startswith("error: --registry 'Bad Reg' is not")
    assert error(args, NODERR_REGISTRY="Bad Reg").startswith(
        "error: NODERR_REGISTRY='Bad Reg' is not a registry"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["rollback", "propose", "--tier", "oracle", "--reason", "r", "--safe", "0x12"],
            "--safe is for --format safe",
        ),
        (
            ["rollback", "check", "-H", "h.csv", "-V", "1", "--safe", "0x12"],
            "--safe applies with --propose",
        ),
        (
            ["rollback", "check", "-H", "h.csv", "-V", "1", "--block", "5"],
            "--block applies with --tier",
        ),
        (
            ["rollback", "check", "-H", "h.csv", "-V", "1", "--rpc-url", "http://127.0.0.1:1"],
            "--rpc-url applies with --tier",
        ),
    ],
)
def test_a_flag_this_run_would_ignore_is_refused(
    export: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    # Review round 2: each was accepted and ignored (exit 0 or a verdict).
    monkeypatch.chdir(export.parent)
    assert error([*args, *CHAIN[2:]] if "propose" in args else args).startswith(f"error: {message}")


def test_the_same_from_the_environment_is_ambient(export: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["rollback", "check", "-H", str(export), "-V", "1", "--at", "2026-11-01T12:01:00Z"],
        env={**ENV, "NODERR_SAFE_ADDRESS": "0x12", "NODERR_RPC_URL": "http://127.0.0.1:1"},
    )
    assert result.exit_code == 0, result.stderr


def test_rollback_check_names_a_bad_plan_value_as_given(export: Path) -> None:
    args = ["rollback", "check", "-H", str(export), "-V", "1"]
    assert error([*args, "--canary", "120"]) == (
        "error: invalid rollout plan: --canary: 120 is not within 0..100"
    )
    assert error(args, NODERR_COHORT_PERCENTAGE="101") == (
        "error: invalid rollout plan: NODERR_COHORT_PERCENTAGE: 101 is not within 0..100"
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--rpc-url", "xx", "--beacon", "0x" + "5F" * 20], {}, "error: --rpc-url: the RPC URL"),
        (
            ["--beacon", "0x" + "5F" * 20],
            {"NODERR_RPC_URL": "xx"},
            "error: NODERR_RPC_URL: the RPC",
        ),
        (
            ["--rpc-url", "http://127.0.0.1:1"],
            {"NODERR_BEACON_ADDRESS": "0x12"},
            "error: malformed NODERR_BEACON_ADDRESS '0x12'",
        ),
        (
            ["--rpc-url", "http://127.0.0.1:1", "--beacon", "0x12"],
            {},
            "error: malformed --beacon address '0x12'",
        ),
    ],
)
def test_the_chain_endpoint_is_named_as_given(
    args: list[str], env: dict[str, str], message: str
) -> None:
    assert error(["rollout", "status", *args], **env).startswith(message)


def test_send_with_a_format_given_at_all_is_refused() -> None:
    # Review round 3: -f tx --send was refused, -f proposal --send (the default, given) not.
    sender = ["--send", "--yes", "--from", "0x" + "11" * 20, "--chain-id", "1"]
    args = ["rollback", "propose", "--tier", "oracle", "--reason", "r", *sender, *CHAIN]
    assert error([*args, "-f", "proposal"]).startswith(
        "error: --send and --format proposal exclude each other"
    )


@pytest.mark.parametrize(
    "health",
    [" postgresql://u:pgpass9@127.0.0.1:1/db", "host=127.0.0.1 port=1 password=pgpass9 dbname=x"],
)
def test_a_dsn_read_as_a_file_name_keeps_its_password(health: str) -> None:
    result = CliRunner().invoke(app, ["rollback", "check", "-H", health, "-V", "1"], env=ENV)
    assert result.exit_code == 2
    assert "pgpass9" not in result.stderr + result.stdout
    assert "***" in result.stderr


def test_a_registry_without_a_scheme_keeps_its_password() -> None:
    args = [
        "build",
        "-t",
        "all",
        "--dry-run",
        "--version",
        "1.0",
        "--registry",
        "u:sekret@ghcr.io/x",
    ]
    result = CliRunner().invoke(app, args, env=ENV)
    assert result.exit_code == 2
    assert "sekret" not in result.stderr and "'***@ghcr.io/x'" in result.stderr


def test_an_exported_keystore_is_ambient(tmp_path: Path) -> None:
    # Review round 4: NODERR_KEYSTORE broke every proposal with "--keystore is for --send".
    keystore = tmp_path / "k.json"
    keystore.write_text("{}")
    args = ["rollback", "propose", "--tier", "oracle", "--reason", "r", *CHAIN]
    result = CliRunner().invoke(app, args, env={**ENV, "NODERR_KEYSTORE": str(keystore)})
    assert result.exit_code == 1, result.stderr  # on to the (closed) chain: no usage error
    assert "unreachable" in result.stderr
    sender = ["--send", "--yes", "--from", "0x" + "11" * 20, "--chain-id", "1"]
    result = CliRunner().invoke(
        app, [*args, *sender], env={**ENV, "NODERR_KEYSTORE": str(keystore)}
    )
    assert result.exit_code == 1, result.stderr  # --from names the signer
    assert error([*args, "--keystore", str(keystore)]) == "error: --keystore is for --send"


def test_version_current_must_be_utf8_text() -> None:
    # Review round 4: `--current $'\xff'` answered "should update: yes".
    args = ["version", "n1", "--tier", "oracle", "--current", os.fsdecode(b"\xff"), *CHAIN]
    assert error(args) == "error: --current: not valid UTF-8 text"
