"""Deploy and drive the test VersionBeacon (contracts/VersionBeacon.sol) on a real anvil.

Writes go through web3 with anvil's unlocked first account; the code under test reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import HTTPProvider, Web3

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
VALIDATOR, GUARDIAN, ORACLE = 0, 1, 2


def deploy(url: str, abi: list[dict[str, Any]], bytecode: str) -> str:
    """Deploy a contract with the node's first account; return its checksummed address."""
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 10}))
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    tx = factory.constructor().transact({"from": w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=10)
    return str(receipt["contractAddress"])


@dataclass
class Published:
    version_id: int
    block: int
    timestamp: int


class BeaconDriver:
    """The writes tests need: publish, set the rollout config, emergency rollback."""

    def __init__(self, url: str, abi: list[dict[str, Any]], address: str) -> None:
        self.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 10}))
        self.address = address
        self.contract = self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
        self.account = self.w3.eth.accounts[0]

    @classmethod
    def deploy(cls, url: str, abi: list[dict[str, Any]], bytecode: str) -> BeaconDriver:
        return cls(url, abi, deploy(url, abi, bytecode))

    def _send(self, call: Any) -> Published:
        tx = call.transact({"from": self.account})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx, timeout=10)
        assert receipt["status"] == 1, receipt
        block = self.w3.eth.get_block(receipt["blockNumber"])
        last_id = int(self.contract.functions.nextVersionId().call()) - 1
        return Published(last_id, int(block["number"]), int(block["timestamp"]))

    def publish(
        self,
        tier: int,
        version: str,
        tag: str | None = None,
        config_hash: bytes = b"\x11" * 32,
        emergency: bool = False,
    ) -> Published:
        tag = tag or f"{version}-{('validator', 'guardian', 'oracle')[tier]}"
        return self._send(
            self.contract.functions.publishVersion(tier, version, tag, config_hash, emergency)
        )

    def set_rollout(self, canary: int, cohort: int, delay_hours: int, active: bool = True) -> None:
        self._send(self.contract.functions.setRolloutConfig(canary, cohort, delay_hours, active))

    def emergency_rollback(self, tier: int, to_version_id: int) -> Published:
        return self._send(self.contract.functions.emergencyRollback(tier, to_version_id))

    def set_next_timestamp(self, timestamp: int) -> None:
        """Mine one block at exactly ``timestamp`` (chain time moves on the next block)."""
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
