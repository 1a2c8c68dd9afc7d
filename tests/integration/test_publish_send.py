"""``--send``, the image lookup, other ABIs and ``rollback check --propose``, on a real anvil
chain and the real test registry. Each failure must be one line with the right exit code.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from typer.testing import CliRunner

from noderr_deploy.cli import app
from tests.health_data import ids_in, jsonl, record
from tests.support.anvil import Anvil
from tests.support.auth_registry import PASSWORD as PASSWORD_REGISTRY
from tests.support.auth_registry import USER, AuthRegistryError, auth_registry
from tests.support.beacon_chain import CONTRACTS, ORACLE, VALIDATOR, BeaconDriver
from tests.support.components import require
from tests.support.registry_api import push_test_image
from tests.support.safe import dev_key
from tests.support.solidity import CompiledContract

PASSWORD = "correct horse battery staple"
TIERS_YAML = """\
registry: {registry}/noderr-test-{run}
tiers:
  validator: {{beacon_tier: 0, size_budget: 1GB}}
  guardian:  {{beacon_tier: 1, size_budget: 1GB}}
  oracle:    {{beacon_tier: 2, size_budget: 1GB}}
"""


@pytest.fixture
def config(tmp_path: Path, registry: str) -> Path:
    path = tmp_path / "tiers.yaml"
    path.write_text(TIERS_YAML.format(registry=registry, run=uuid.uuid4().hex[:8]))
    return path


@pytest.fixture
def run(config: Path) -> Callable[..., Any]:
    def invoke(*args: str, url: str, address: str, **env: str) -> Any:
        environ = {
            "NODERR_RPC_URL": url,
            "NODERR_BEACON_ADDRESS": address,
            "NODERR_CONFIG": str(config),
            "NODERR_KEYSTORE_PASSWORD": None,
            **env,
        }
        return CliRunner().invoke(app, list(args), env=environ)

    return invoke


def keystore(tmp_path: Path, index: int, password: str = PASSWORD) -> Path:
    """An eth-account keystore of anvil's dev key ``index`` (scrypt made cheap for tests)."""
    account = dev_key(index)
    document = Account.encrypt(account.key, password, kdf="pbkdf2", iterations=2)
    path = tmp_path / f"key{index}.json"
    path.write_text(json.dumps(document))
    return path


def current(run: Callable[..., Any], url: str, address: str, tier: str = "oracle") -> Any:
    result = run("rollout", "status", "--json", "--tier", tier, url=url, address=address)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["tiers"][0]


@pytest.fixture
def published(beacon: BeaconDriver) -> BeaconDriver:
    beacon.publish(ORACLE, "1.0.0")
    beacon.publish(ORACLE, "2.0.0")
    return beacon


def test_send_with_a_keystore_rolls_back(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any], tmp_path: Path
) -> None:
    key = keystore(tmp_path, 0)  # the deployer: the beacon's owner
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "bad",
        "--send",
        "--keystore",
        str(key),
        "--yes",
        url=node.url,
        address=published.address,
        NODERR_KEYSTORE_PASSWORD=PASSWORD,
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["from"] == dev_key(0).address
    assert document["newVersion"]["versionString"] == "1.0.0"
    assert document["newVersion"]["isEmergencyRollback"] is True
    assert current(run, node.url, published.address)["versionId"] == 3
    secret = dev_key(0).key.hex().removeprefix("0x")
    for text in (result.stdout, result.stderr):
        assert PASSWORD not in text
        assert secret not in text.lower()


def test_send_from_a_node_account_publishes(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any]
) -> None:
    owner = node.accounts()[0]
    result = run(
        "publish",
        "--tier",
        "validator",
        "--version",
        "7.0.0",
        "--config-hash",
        "0x" + "ab" * 32,
        "--no-verify-image",
        "--send",
        "--from",
        owner,
        "--chain-id",
        str(node.chain_id),
        "--yes",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 0, result.stderr
    state = current(run, node.url, published.address, "validator")
    assert (state["versionString"], state["dockerImageTag"]) == ("7.0.0", "7.0.0-validator")
    assert state["configHash"] == "0x" + "ab" * 32


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (
            [],
            2,
            "--from sends from an account the node unlocks (development chains only): give"
            " --chain-id too, so a production endpoint is never used by mistake",
        ),
        (
            ["--chain-id", "1"],
            1,
            "RPC {url} serves chain 31337, not the expected chain 1"
            " (--chain-id / NODERR_CHAIN_ID / beacon.chain_id)",
        ),
    ],
)
def test_send_from_needs_the_right_chain_id(  # noqa: PLR0917 - pytest passes fixtures
    node: Anvil,
    published: BeaconDriver,
    run: Callable[..., Any],
    extra: list[str],
    code: int,
    message: str,
) -> None:
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "x",
        "--send",
        "--from",
        node.accounts()[0],
        "--yes",
        *extra,
        "--quiet",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == code
    assert result.stderr == f"error: {message.format(url=node.url)}\n"
    assert current(run, node.url, published.address)["versionId"] == 2


def test_send_from_an_account_the_node_does_not_unlock(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any]
) -> None:
    stranger = Account.create().address
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "x",
        "--send",
        "--from",
        stranger,
        "--chain-id",
        "31337",
        "--yes",
        "--quiet",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --from {stranger}: RPC {node.url} does not unlock this account (not in its"
        " eth_accounts)\n"
    )


def test_wrong_password_is_one_line(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any], tmp_path: Path
) -> None:
    key = keystore(tmp_path, 0)
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "x",
        "--send",
        "--keystore",
        str(key),
        "--yes",
        "--quiet",
        url=node.url,
        address=published.address,
        NODERR_KEYSTORE_PASSWORD="wrong " + PASSWORD,
    )
    assert result.exit_code == 2
    assert result.stderr == f"error: --keystore {key}: wrong password (or a damaged keystore)\n"
    assert PASSWORD not in result.stdout + result.stderr


def test_no_password_and_no_terminal(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any], tmp_path: Path
) -> None:
    key = keystore(tmp_path, 0)
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "x",
        "--send",
        "--keystore",
        str(key),
        "--yes",
        "--quiet",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --keystore {key}: no password: set NODERR_KEYSTORE_PASSWORD (there is no"
        " terminal to ask on)\n"
    )


def test_a_revert_is_exit_1_with_its_reason(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any], tmp_path: Path
) -> None:
    key = keystore(tmp_path, 5)  # not the owner
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "x",
        "--send",
        "--keystore",
        str(key),
        "--yes",
        "--quiet",
        url=node.url,
        address=published.address,
        NODERR_KEYSTORE_PASSWORD=PASSWORD,
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "error: emergencyRollback (gas estimate): reverted: VersionBeacon: caller is not the"
        " owner\n"
    )
    assert result.stdout == ""


def test_send_without_yes_and_without_a_terminal(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any]
) -> None:
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "x",
        "--send",
        "--from",
        node.accounts()[0],
        "--chain-id",
        "31337",
        "--quiet",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 2
    assert result.stderr == "error: --send without a terminal to confirm on: add --yes\n"
    assert current(run, node.url, published.address)["versionId"] == 2


# ---- the image in the registry ----


def test_missing_image_is_exit_1(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any], config: Path
) -> None:
    registry = config.read_text().split("\n")[0].split(": ")[1]
    result = run(
        "publish",
        "--tier",
        "oracle",
        "--version",
        "9.9.9",
        "--config-hash",
        "0x" + "00" * 32,
        "--quiet",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: image {registry}/noderr-node-os:9.9.9-oracle is not in the registry: nodes"
        " could not pull it (push it with noderr build --push, or pass --no-verify-image)\n"
    )
    assert result.stdout == ""


def test_pin_digest_publishes_the_registrys_digest(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any], config: Path, registry: str
) -> None:
    namespace = config.read_text().split("\n")[0].split(": ")[1].split("/", 1)[1]
    digest = push_test_image(registry, f"{namespace}/noderr-node-os", "3.0.0-oracle")
    result = run(
        "publish",
        "--tier",
        "oracle",
        "--version",
        "3.0.0",
        "--config-hash",
        "0x" + "01" * 32,
        "--pin-digest",
        "--format",
        "tx",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 0, result.stderr
    assert f"is in the registry ({digest})" in result.stderr
    tx = json.loads(result.stdout)
    assert set(tx) == {"chainId", "to", "value", "data"}
    # The tag with its digest is in the calldata, as a string argument.
    assert f"3.0.0-oracle@{digest}".encode().hex() in tx["data"]


def test_from_metadata_checks_the_digest(  # noqa: PLR0917 - pytest passes fixtures
    node: Anvil,
    published: BeaconDriver,
    run: Callable[..., Any],
    config: Path,
    registry: str,
    tmp_path: Path,
) -> None:
    namespace = config.read_text().split("\n")[0].split(": ")[1].split("/", 1)[1]
    repository = f"{registry}/{namespace}/noderr-node-os"
    digest = push_test_image(registry, f"{namespace}/noderr-node-os", "4.0.0-oracle", label="a")
    metadata = tmp_path / "build.json"
    entry = {
        "tier": "oracle",
        "tags": [f"{repository}:4.0.0-oracle", f"{repository}:latest-oracle"],
        "pushed": True,
        "digest": digest,
    }
    metadata.write_text(json.dumps([entry]))
    result = run(
        "publish",
        "--tier",
        "oracle",
        "--from-metadata",
        str(metadata),
        "--config-hash",
        "0x" + "02" * 32,
        "--pin-digest",
        "--send",
        "--from",
        node.accounts()[0],
        "--chain-id",
        "31337",
        "--yes",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 0, result.stderr
    state = current(run, node.url, published.address)
    assert (state["versionString"], state["dockerImageTag"]) == (
        "4.0.0",
        f"4.0.0-oracle@{digest}",
    )
    # The tag pushed again since the build: another digest, refused.
    other = push_test_image(registry, f"{namespace}/noderr-node-os", "4.0.0-oracle", label="b")
    result = run(
        "publish",
        "--tier",
        "oracle",
        "--from-metadata",
        str(metadata),
        "--config-hash",
        "0x" + "02" * 32,
        "--quiet",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: image {repository}:4.0.0-oracle in the registry is {other}, not the build's"
        f" {digest} (the tag was pushed again since): build and push again, or check the tag\n"
    )


# ---- other ABIs ----


def governance_abi(solc: Callable[..., CompiledContract], tmp_path: Path) -> tuple[Path, Any]:
    abi, bytecode = solc(CONTRACTS / "GovernanceBeacon.sol")
    mine = [
        e
        for e in abi
        if e["type"] == "function"
        and e["name"] in ("emergencyRollback", "publishVersion")
        and e["inputs"][0]["type"] in ("string", "uint256")
    ]
    path = tmp_path / "governance.json"
    path.write_text(json.dumps(mine))
    return path, (abi, bytecode)


def test_a_string_tier_abi_binds_the_name_and_the_reason(
    node: Anvil, solc: Callable[..., CompiledContract], run: Callable[..., Any], tmp_path: Path
) -> None:
    path, (abi, bytecode) = governance_abi(solc, tmp_path)
    governance = BeaconDriver.deploy(node.url, abi, bytecode)
    reason = "cohort1: unhealthy 40% > 10% [bold]ünïcode[/] \x1b[31m"
    result = run(
        "rollback",
        "propose",
        "--tier",
        "guardian",
        "--reason",
        reason,
        "--abi",
        str(path),
        "--send",
        "--from",
        node.accounts()[0],
        "--chain-id",
        "31337",
        "--yes",
        url=node.url,
        address=governance.address,
    )
    assert result.exit_code == 0, result.stderr
    assert "emergencyRollback(string,string)" in result.stderr
    assert "tier (string) = guardian" in result.stderr
    assert "\x1b" not in result.stderr  # shown escaped
    assert "\\x1b[31m" in result.stderr
    contract = governance.contract
    assert contract.functions.lastRollbackTier().call() == "guardian"
    assert contract.functions.lastRollbackReason().call() == reason

    # publishVersion(uint256 versionId, string semver, string tier, string ipfsHash, tuple):
    # ipfsHash binds to nothing: exit 2 naming it; the plan's 24 h is 86400 s in the tuple.
    result = run(
        "publish",
        "--tier",
        "oracle",
        "--version",
        "5.0.0",
        "--abi",
        str(path),
        "--no-verify-image",
        "--arg",
        "versionId=5",
        "--quiet",
        url=node.url,
        address=governance.address,
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: cannot bind publishVersion parameter ipfsHash (string): no value is known by"
        " that name; or --arg ipfsHash=VALUE\n"
    )
    result = run(
        "publish",
        "--tier",
        "oracle",
        "--version",
        "5.0.0",
        "--abi",
        str(path),
        "--no-verify-image",
        "--arg",
        "versionId=5",
        "--arg",
        "ipfsHash=QmTest",
        "--send",
        "--from",
        node.accounts()[0],
        "--chain-id",
        "31337",
        "--yes",
        url=node.url,
        address=governance.address,
    )
    assert result.exit_code == 0, result.stderr
    assert contract.functions.lastPublished().call() == "5.0.0 oracle QmTest 86400"


def test_an_abi_without_the_event_needs_a_target(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any], tmp_path: Path
) -> None:
    from importlib import resources

    from noderr_deploy.chain.writeabi import DEFAULT_ABI

    shipped = json.loads(resources.files("noderr_deploy").joinpath(DEFAULT_ABI).read_text())
    path = tmp_path / "no-events.json"
    path.write_text(json.dumps([e for e in shipped if e["type"] == "function"]))
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "x",
        "--abi",
        str(path),
        "--quiet",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: emergencyRollback(uint8,uint256) takes a target version, and the ABI {path}"
        " has no VersionPublished event to find the previous one: pass --to-version-id\n"
    )
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "x",
        "--abi",
        str(path),
        "--to-version-id",
        "1",
        "--format",
        "proposal",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 0, result.stderr
    proposal = json.loads(result.stdout)
    assert proposal["type"] == "emergency_rollback"
    assert proposal["metadata"]["args"] == {"tier": 2, "toVersionId": 1}


def test_the_previous_version_skips_a_republished_one(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any]
) -> None:
    published.publish(VALIDATOR, "0.1.0")  # id 3, another tier
    published.emergency_rollback(ORACLE, 1)  # id 4: 1.0.0 again
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "x",
        "--format",
        "proposal",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 0, result.stderr
    # Current is 1.0.0 (id 4); the latest earlier one with another version is 2.0.0 (id 2).
    assert json.loads(result.stdout)["metadata"]["toVersionId"] == 2


# ---- rollback check --propose ----


def test_rollback_check_writes_the_proposal_on_a_rollback_verdict(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any], tmp_path: Path
) -> None:
    canary = ids_in("canary", 10)
    export = tmp_path / "health.jsonl"
    proposal = tmp_path / "proposal.json"
    export.write_bytes(
        jsonl(*[record(n, version="2.0.0", cpu=99 if i < 3 else 10) for i, n in enumerate(canary)])
    )
    result = run(
        "rollback",
        "check",
        "--health",
        str(export),
        "--tier",
        "oracle",
        "--json",
        "--propose",
        str(proposal),
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 3, result.stderr
    assert json.loads(result.stdout)["verdict"] == "rollback"
    document = json.loads(proposal.read_text())
    assert document["type"] == "emergency_rollback"
    assert document["metadata"]["toVersionId"] == 1
    assert "canary unhealthy 30.0% > 10.0%" in document["description"]

    healthy = tmp_path / "healthy.jsonl"
    healthy.write_bytes(jsonl(*[record(n, version="2.0.0") for n in canary]))
    quiet = tmp_path / "none.json"
    result = run(
        "rollback",
        "check",
        "--health",
        str(healthy),
        "--tier",
        "oracle",
        "--json",
        "--propose",
        str(quiet),
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 0, result.stderr
    assert not quiet.exists()


def test_propose_needs_tier(run: Callable[..., Any], tmp_path: Path) -> None:
    export = tmp_path / "h.jsonl"
    export.write_bytes(jsonl(record("n1", version="1.0.0")))
    result = run(
        "rollback",
        "check",
        "--health",
        str(export),
        "--version",
        "1.0.0",
        "--propose",
        str(tmp_path / "p.json"),
        url="http://127.0.0.1:9",
        address="0x" + "11" * 20,
    )
    assert result.exit_code == 2
    assert result.stderr == "error: --propose needs --tier: the tier whose rollback is proposed\n"


@pytest.fixture(scope="module")
def locked_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with auth_registry(tmp_path_factory.mktemp("auth-registry")) as address:
            yield address
    except AuthRegistryError as error:
        require("registry with authentication", str(error))


@pytest.mark.parametrize(
    ("credentials", "code", "message"),
    [
        ({"NODERR_REGISTRY_USER": USER, "NODERR_REGISTRY_PASSWORD": PASSWORD_REGISTRY}, 0, None),
        (
            {"NODERR_REGISTRY_USER": USER, "NODERR_REGISTRY_PASSWORD": "wrong-password"},
            1,
            "error: cannot look up image {image}: registry answered HTTP 401: the credentials"
            " were refused\n",
        ),
        (
            {},
            1,
            "error: cannot look up image {image}: registry answered HTTP 401: it wants"
            " credentials (NODERR_REGISTRY_USER/NODERR_REGISTRY_PASSWORD or docker login)\n",
        ),
        (
            {"NODERR_REGISTRY_USER": USER},
            2,
            "error: NODERR_REGISTRY_PASSWORD is not set: set both registry variables, or neither\n",
        ),
    ],
)
def test_image_lookup_with_the_builds_credentials(  # noqa: PLR0917 - pytest passes fixtures
    node: Anvil,
    published: BeaconDriver,
    run: Callable[..., Any],
    locked_registry: str,
    credentials: dict[str, str],
    code: int,
    message: str | None,
) -> None:
    name = f"noderr-locked-{uuid.uuid4().hex[:8]}/noderr-node-os"
    push_test_image(locked_registry, name, "6.0.0-oracle", auth=(USER, PASSWORD_REGISTRY))
    result = run(
        "publish",
        "--tier",
        "oracle",
        "--version",
        "6.0.0",
        "--config-hash",
        "0x" + "03" * 32,
        "--registry",
        f"{locked_registry}/{name.split('/', maxsplit=1)[0]}",
        "--quiet",
        url=node.url,
        address=published.address,
        DOCKER_CONFIG=str(Path("/nonexistent")),
        **credentials,
    )
    assert result.exit_code == code, result.stderr
    if message is not None:
        assert result.stderr == message.format(image=f"{locked_registry}/{name}:6.0.0-oracle")
    assert PASSWORD_REGISTRY not in result.stdout + result.stderr


def on_a_terminal(
    argv: list[str], env: dict[str, str], answers: list[tuple[bytes, bytes]]
) -> tuple[int, str]:
    """Run ``noderr`` with a pseudo-terminal as stdin, stdout and stderr; type each answer
    once its prompt appears. Returns the exit code and everything the terminal showed."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "noderr_deploy", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and pending[0][0] in shown:
                os.write(master, pending.pop(0)[1])
        elif process.poll() is not None:
            break
    os.close(master)
    return process.wait(timeout=10), shown.decode(errors="replace")


@pytest.mark.parametrize(("answer", "code"), [(b"n\r", 2), (b"y\r", 0)])
def test_on_a_terminal_it_asks_for_the_password_and_confirmation(  # noqa: PLR0917
    node: Anvil,
    published: BeaconDriver,
    tmp_path: Path,
    config: Path,
    answer: bytes,
    code: int,
) -> None:
    import os

    key = keystore(tmp_path, 0)
    env = {k: v for k, v in os.environ.items() if k != "NODERR_KEYSTORE_PASSWORD"}
    env |= {
        "NODERR_RPC_URL": node.url,
        "NODERR_BEACON_ADDRESS": published.address,
        "NODERR_CONFIG": str(config),
        "COLUMNS": "200",
    }
    argv = [
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "tty",
        "--send",
        "--keystore",
        str(key),
    ]
    rc, shown = on_a_terminal(
        argv,
        env,
        [
            (b"Password for keystore", PASSWORD.encode() + b"\r"),
            (b"Send this transaction? [y/N]", answer),
        ],
    )
    assert rc == code, shown
    assert PASSWORD not in shown  # not echoed
    assert "toVersionId (uint256) = 1  [VersionPublished events]" in shown
    if code == 0:
        assert "now has version id 3: 1.0.0 (image 1.0.0-oracle, emergency rollback)" in shown
    else:
        assert "error: not sent (declined)" in shown


@pytest.mark.parametrize("sender", [0, 5])  # the owner (sent), a stranger (reverts)
def test_secrets_in_the_rpc_url_never_show(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any], tmp_path: Path, sender: int
) -> None:
    from tests.support.rpc_servers import CountingProxy

    key = keystore(tmp_path, sender)
    with CountingProxy(node.url) as proxy:
        host = proxy.url.removeprefix("http://")
        url = f"http://alice:hunter2@{host}/v2/abcDEF1234567890xyzSECRET?apikey=k3y"
        result = run(
            "rollback",
            "propose",
            "--tier",
            "oracle",
            "--reason",
            "x",
            "--send",
            "--keystore",
            str(key),
            "--yes",
            url=url,
            address=published.address,
            NODERR_KEYSTORE_PASSWORD=PASSWORD,
        )
        assert any("eth_sendRawTransaction" in r for r in proxy.requests) == (sender == 0)
    assert result.exit_code == (0 if sender == 0 else 1), result.stderr
    for secret in ("hunter2", "abcDEF1234567890xyzSECRET", "k3y", PASSWORD):
        assert secret not in result.stdout + result.stderr


def test_no_receipt_within_the_timeout_is_exit_1(
    node: Anvil, published: BeaconDriver, run: Callable[..., Any]
) -> None:
    node.rpc("evm_setAutomine", [False])  # the transaction stays pending
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "x",
        "--send",
        "--from",
        node.accounts()[0],
        "--chain-id",
        "31337",
        "--yes",
        "--timeout",
        "3",
        "--quiet",
        url=node.url,
        address=published.address,
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: transaction 0x")
    assert result.stderr.endswith(
        " sent, but no receipt within --timeout 3 s (it may still be mined: look it up before"
        " sending again)\n"
    )
    node.rpc("evm_mine")
    assert current(run, node.url, published.address)["versionId"] == 3
