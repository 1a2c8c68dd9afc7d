"""A real Safe (v1.4.1) on anvil, deployed from the npm package's build artifacts.

``deploy_safe`` deploys the singleton (SafeL2, as L2 chains use), the proxy factory and the
compatibility fallback handler, then creates a Safe owned by anvil's dev accounts 1..3 with
threshold 2. ``SafeDriver.execute`` runs one transaction the way a Safe app's owners do: the
EIP-712 ``SafeTx`` hash computed here (and checked against the Safe's own
``getTransactionHash``), signed by two owners with eth-account, signatures sorted by owner,
then ``execTransaction`` sent by an account that owns nothing (a relayer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import HTTPProvider, Web3
from web3.logs import DISCARD

from tests.support.components import REPO_ROOT

ARTIFACTS = REPO_ROOT / "node_modules" / "@safe-global" / "safe-contracts" / "build" / "artifacts"
ZERO = "0x0000000000000000000000000000000000000000"
MNEMONIC = "test test test test test test test test test test test junk"
"""anvil's default dev mnemonic: its ten funded accounts are m/44'/60'/0'/0/i."""

Account.enable_unaudited_hdwallet_features()


class SafeError(RuntimeError):
    """The Safe artifacts are missing or a Safe transaction failed."""


def dev_key(index: int) -> Any:
    """anvil's dev account ``index`` as an eth-account ``LocalAccount``."""
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def artifact(relative: str) -> tuple[list[dict[str, Any]], str]:
    """ABI and creation bytecode of ``contracts/<relative>`` in the Safe package."""
    path = ARTIFACTS / "contracts" / relative
    if not path.is_file():
        raise SafeError(f"no Safe artifact {path}: run `npm ci`")
    document = json.loads(path.read_text())
    return document["abi"], document["bytecode"]


def artifacts_present() -> bool:
    return (ARTIFACTS / "contracts" / "SafeL2.sol" / "SafeL2.json").is_file()


def _w3(url: str) -> Web3:
    return Web3(HTTPProvider(url, request_kwargs={"timeout": 10}))


def _deploy(w3: Web3, relative: str) -> str:
    abi, bytecode = artifact(relative)
    tx = (
        w3.eth.contract(abi=abi, bytecode=bytecode)
        .constructor()
        .transact({"from": w3.eth.accounts[0]})
    )
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=10)
    if receipt["status"] != 1:
        raise SafeError(f"deploying {relative} failed")
    return str(receipt["contractAddress"])


@dataclass
class SafeDriver:
    """A deployed Safe proxy and its owners' keys."""

    w3: Web3
    address: str
    owners: list[Any]
    threshold: int

    @property
    def contract(self) -> Any:
        abi, _ = artifact("SafeL2.sol/SafeL2.json")
        return self.w3.eth.contract(address=Web3.to_checksum_address(self.address), abi=abi)

    def nonce(self) -> int:
        return int(self.contract.functions.nonce().call())

    def safe_tx(self, to: str, value: int, data: str, nonce: int) -> dict[str, Any]:
        return {
            "to": Web3.to_checksum_address(to),
            "value": value,
            "data": bytes.fromhex(data.removeprefix("0x")),
            "operation": 0,
            "safeTxGas": 0,
            "baseGas": 0,
            "gasPrice": 0,
            "gasToken": ZERO,
            "refundReceiver": ZERO,
            "nonce": nonce,
        }

    def typed_data(self, tx: dict[str, Any]) -> dict[str, Any]:
        """The EIP-712 message of ``tx`` (Safe >= 1.3: the domain has the chain id)."""
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "SafeTx": [
                    {"name": "to", "type": "address"},
                    {"name": "value", "type": "uint256"},
                    {"name": "data", "type": "bytes"},
                    {"name": "operation", "type": "uint8"},
                    {"name": "safeTxGas", "type": "uint256"},
                    {"name": "baseGas", "type": "uint256"},
                    {"name": "gasPrice", "type": "uint256"},
                    {"name": "gasToken", "type": "address"},
                    {"name": "refundReceiver", "type": "address"},
                    {"name": "nonce", "type": "uint256"},
                ],
            },
            "primaryType": "SafeTx",
            "domain": {"chainId": self.w3.eth.chain_id, "verifyingContract": self.address},
            "message": tx,
        }

    def signatures(self, tx: dict[str, Any], signers: list[Any]) -> bytes:
        """Each signer's EIP-712 signature of ``tx``, sorted by owner address (as the Safe
        requires); the hash is checked against the Safe's own ``getTransactionHash``."""
        message = encode_typed_data(full_message=self.typed_data(tx))
        on_chain = self.contract.functions.getTransactionHash(*tx.values()).call()
        signed = [(s.address.lower(), s.sign_message(message)) for s in signers]
        if signed and bytes(signed[0][1].message_hash) != bytes(on_chain):
            raise SafeError("our SafeTx hash differs from the Safe's getTransactionHash")
        return b"".join(
            s.r.to_bytes(32, "big") + s.s.to_bytes(32, "big") + bytes([s.v])
            for _, s in sorted(signed, key=lambda pair: pair[0])
        )

    def execute(self, to: str, value: int, data: str, signers: list[Any] | None = None) -> Any:
        """Sign ``to``/``value``/``data`` with ``signers`` (default: the first two owners) and
        run ``execTransaction`` from a non-owner; return the receipt (which may have failed:
        the Safe then emits ExecutionFailure, or the call reverts)."""
        tx = self.safe_tx(to, value, data, self.nonce())
        signatures = self.signatures(tx, signers if signers is not None else self.owners[:2])
        relayer = self.w3.eth.accounts[9]
        sent = self.contract.functions.execTransaction(
            *list(tx.values())[:-1], signatures
        ).transact({"from": relayer})
        return self.w3.eth.wait_for_transaction_receipt(sent, timeout=10)

    def executed(self, receipt: Any) -> bool:
        """True when the Safe ran the inner call (ExecutionSuccess, not ExecutionFailure)."""
        if receipt["status"] != 1:
            return False
        success = self.contract.events.ExecutionSuccess().process_receipt(receipt, errors=DISCARD)
        return bool(success)


def deploy_safe(
    url: str, owner_indexes: tuple[int, ...] = (1, 2, 3), threshold: int = 2
) -> SafeDriver:
    """Safe v1.4.1 singleton, proxy factory and fallback handler, then a Safe of
    ``threshold`` of the dev accounts ``owner_indexes``."""
    w3 = _w3(url)
    singleton = _deploy(w3, "SafeL2.sol/SafeL2.json")
    factory_address = _deploy(w3, "proxies/SafeProxyFactory.sol/SafeProxyFactory.json")
    handler = _deploy(
        w3, "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json"
    )
    owners = [dev_key(i) for i in owner_indexes]
    safe_abi, _ = artifact("SafeL2.sol/SafeL2.json")
    setup = (
        w3.eth.contract(abi=safe_abi)
        .functions.setup([o.address for o in owners], threshold, ZERO, b"", handler, ZERO, 0, ZERO)
        ._encode_transaction_data()
    )
    factory_abi, _ = artifact("proxies/SafeProxyFactory.sol/SafeProxyFactory.json")
    factory = w3.eth.contract(address=Web3.to_checksum_address(factory_address), abi=factory_abi)
    create = factory.functions.createProxyWithNonce(singleton, setup, 0)
    proxy = create.call({"from": w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(
        create.transact({"from": w3.eth.accounts[0]}), timeout=10
    )
    if receipt["status"] != 1:
        raise SafeError("creating the Safe proxy failed")
    safe = SafeDriver(w3, str(proxy), owners, threshold)
    got = safe.contract.functions.getOwners().call()
    if [a.lower() for a in got] != [o.address.lower() for o in owners]:
        raise SafeError(f"the Safe's owners are {got}")
    return safe


def transfer_beacon(
    url: str, beacon_abi: list[dict[str, Any]], beacon: str, new_owner: str
) -> None:
    """Make ``new_owner`` (the Safe) the only account allowed to write to the test beacon."""
    w3 = _w3(url)
    contract = w3.eth.contract(address=Web3.to_checksum_address(beacon), abi=beacon_abi)
    tx = contract.functions.transferOwnership(Web3.to_checksum_address(new_owner)).transact(
        {"from": w3.eth.accounts[0]}
    )
    if w3.eth.wait_for_transaction_receipt(tx, timeout=10)["status"] != 1:
        raise SafeError("transferOwnership failed")


def read_path(path: Path) -> Any:
    return json.loads(path.read_text())
