"""Keystores and the tier's published versions, without a chain: damaged and lying input."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_account import Account

from noderr_deploy.chain.actions import RollbackRequest, previous_version_id, published_versions
from noderr_deploy.chain.beacon import VersionInfo
from noderr_deploy.chain.rpc import RpcClient
from noderr_deploy.chain.send import read_keystore
from noderr_deploy.chain.transport import Deadline
from noderr_deploy.chain.writeabi import load_abi
from noderr_deploy.errors import InputError, UsageError

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"


@pytest.fixture
def keyfile(tmp_path: Path) -> Path:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(KEY, "pw", kdf="pbkdf2", iterations=2)))
    return path


def test_keystore_decrypts_with_the_password_from_the_environment(keyfile: Path) -> None:
    signer = read_keystore(keyfile, environ={"NODERR_KEYSTORE_PASSWORD": "pw"}, prompt=None)
    assert signer.address == ADDRESS
    assert signer.key == KEY
    assert KEY.hex() not in repr(signer)


def test_keystore_asks_on_a_terminal(keyfile: Path) -> None:
    asked: list[str] = []

    def prompt(message: str) -> str:
        asked.append(message)
        return "pw"

    assert read_keystore(keyfile, environ={}, prompt=prompt).address == ADDRESS
    assert asked == ["Password for keystore key.json: "]


def test_wrong_password(keyfile: Path) -> None:
    with pytest.raises(UsageError) as caught:
        read_keystore(keyfile, environ={"NODERR_KEYSTORE_PASSWORD": "nope"}, prompt=None)
    assert caught.value.message == f"--keystore {keyfile}: wrong password (or a damaged keystore)"


def damage(document: dict[str, Any], how: str) -> Any:
    crypto = document["crypto"]
    if how == "truncated cipher":
        crypto["ciphertext"] = crypto["ciphertext"][:10]
    elif how == "unknown kdf":
        crypto["kdf"] = "argon9"
    elif how == "no kdfparams":
        del crypto["kdfparams"]
    elif how == "bad hex":
        crypto["ciphertext"] = "zz" + crypto["ciphertext"][2:]
    elif how == "other address":
        document["address"] = "11" * 20
    return document


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated cipher", "wrong password (or a damaged keystore)"),
        ("unknown kdf", "cannot decrypt: damaged keystore"),
        ("no kdfparams", "cannot decrypt: damaged keystore"),
        ("bad hex", "cannot decrypt: damaged keystore"),
        ("other address", f"the key is for {ADDRESS}, not the file's address"),
    ],
)
def test_damaged_keystores_are_exit_2(keyfile: Path, how: str, message: str) -> None:
    keyfile.write_text(json.dumps(damage(json.loads(keyfile.read_text()), how)))
    with pytest.raises((InputError, UsageError)) as caught:
        read_keystore(keyfile, environ={"NODERR_KEYSTORE_PASSWORD": "pw"}, prompt=None)
    assert caught.value.message == f"--keystore {keyfile}: {message}"
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "not a JSON keystore"), ("[1]", "not an encrypted JSON keystore (no 'crypto')")],
)
def test_not_a_keystore(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "k.json"
    path.write_text(content)
    with pytest.raises(InputError, match=re.escape(message)):
        read_keystore(path, environ={"NODERR_KEYSTORE_PASSWORD": "pw"}, prompt=None)


def test_no_keystore_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read: No such file or directory"):
        read_keystore(tmp_path / "none.json", environ={}, prompt=None)


# ---- published versions from events, through a node that lies ----

EVENT = load_abi(None).event("VersionPublished")
assert EVENT is not None
TOPIC = "0x" + EVENT.topic.hex()


def log(version_id: int, tier: int, text: str, block: int, index: int = 0) -> dict[str, Any]:
    return {
        "topics": [
            TOPIC,
            "0x" + encode(["uint256"], [version_id]).hex(),
            "0x" + encode(["uint8"], [tier]).hex(),
        ],
        "data": "0x" + encode(["string"], [text]).hex(),
        "blockNumber": hex(block),
        "logIndex": hex(index),
    }


def client(reply: Any, sent: list[Any]) -> RpcClient:
    """A client whose node answers every call with ``reply`` (a real RpcClient, its
    transport replaced)."""

    def transport(body: bytes, deadline: Deadline) -> bytes:
        calls = json.loads(body)
        sent.append([(c["method"], c["params"]) for c in calls])
        return json.dumps(
            [{"jsonrpc": "2.0", "id": c["id"], "result": reply} for c in calls]
        ).encode()

    return RpcClient("http://127.0.0.1:1", deadline=Deadline(5), transport=transport)


def version(version_id: int, text: str) -> VersionInfo:
    from datetime import UTC, datetime

    return VersionInfo(
        version_id,
        text,
        f"{text}-oracle",
        "0x" + "00" * 32,
        datetime(2026, 1, 1, tzinfo=UTC),
        ADDRESS,
        True,
        False,
    )


def test_events_are_filtered_by_the_indexed_tier_and_ordered() -> None:
    sent: list[Any] = []
    logs = [log(3, 2, "2.0.0", 9), log(1, 2, "1.0.0", 5, 1)]
    found = published_versions(
        client(logs, sent), ADDRESS, EVENT, tier_name="oracle", beacon_tier=2, block=10
    )
    assert [(v.version_id, v.version_string) for v in found] == [(1, "1.0.0"), (3, "2.0.0")]
    ((method, params),) = sent[0]
    assert method == "eth_getLogs"
    assert params[0]["topics"] == [TOPIC, None, "0x" + encode(["uint8"], [2]).hex()]
    assert params[0]["toBlock"] == hex(10)


def test_logs_that_do_not_decode_are_skipped() -> None:
    bad = [
        {"topics": [TOPIC], "data": "0x", "blockNumber": "0x1", "logIndex": "0x0"},
        {**log(2, 2, "x", 2), "data": "0xdeadbeef"},
        {**log(2, 2, "x", 2), "blockNumber": "not hex"},
        "not an object",
        log(1, 2, "1.0.0", 1),
    ]
    found = published_versions(
        client(bad, []), ADDRESS, EVENT, tier_name="oracle", beacon_tier=2, block=10
    )
    assert [v.version_id for v in found] == [1]


def request() -> RollbackRequest:
    return RollbackRequest(tier="oracle", beacon_tier=2, reason="r", abi=load_abi(None))


def test_previous_version_is_the_latest_earlier_with_another_string() -> None:
    logs = [log(1, 2, "1.0.0", 1), log(2, 2, "2.0.0", 2), log(4, 2, "1.0.0", 4), log(5, 2, "3", 5)]
    previous = previous_version_id(
        client(logs, []), ADDRESS, EVENT, request=request(), current=version(4, "1.0.0"), block=9
    )
    assert previous == 2  # id 5 is later than the current one (a lying node): ignored


def test_no_earlier_version_is_exit_2() -> None:
    with pytest.raises(UsageError, match="no version published before its current one"):
        previous_version_id(
            client([log(1, 2, "1.0.0", 1)], []),
            ADDRESS,
            EVENT,
            request=request(),
            current=version(1, "1.0.0"),
            block=9,
        )


def test_an_answer_that_is_not_a_list() -> None:
    from noderr_deploy.errors import ChainError

    with pytest.raises(ChainError, match="did not answer with a list"):
        published_versions(
            client({"x": 1}, []), ADDRESS, EVENT, tier_name="oracle", beacon_tier=2, block=1
        )


def test_signing_libraries_keep_the_recursion_limit() -> None:
    # In a fresh interpreter: here web3 was imported long ago. Deeply nested JSON from a
    # hostile node must stay an error message, not a crash of the C stack.
    import subprocess
    import sys

    code = """
import sys
before = sys.getrecursionlimit()
from noderr_deploy.chain.send import load_signing
load_signing()
assert sys.getrecursionlimit() == before, sys.getrecursionlimit()
import json
try:
    json.loads("[" * 200000 + "]" * 200000)
except RecursionError:
    print("recursion error")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stdout) == (0, "recursion error\n"), done.stderr
