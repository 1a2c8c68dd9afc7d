"""Signing and sending a prepared beacon call (``--send``): keystore or node account.

A private key never comes from a flag: either an encrypted JSON keystore (its password from
``NODERR_KEYSTORE_PASSWORD`` or a terminal prompt), or an account the node itself unlocks
(development chains only: the chain id must be the one asked for and the node must list
the account in ``eth_accounts``). Nothing about the key or the password reaches a message.

Encoding is eth_abi's, signing eth-account's, sending web3's (imported only here).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from noderr_deploy.chain.proposal import Action
from noderr_deploy.chain.settings import checksum_address
from noderr_deploy.errors import ChainError, InputError, UsageError
from noderr_deploy.redact import redact_endpoint, scrub
from noderr_deploy.text import clipped

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress
    from web3.types import TxParams

PASSWORD_VARIABLE = "NODERR_KEYSTORE_PASSWORD"
GAS_MARGIN = 1.2
"""The gas limit is the node's estimate with this margin."""


def load_signing() -> None:
    """Import web3 and eth-account, keeping the interpreter's recursion limit.

    py_ecc (imported by both) raises the limit to 100,000 at import; ``json`` then follows a
    hostile node's deeply nested reply down the C stack and the process dies of a
    segmentation fault instead of failing with a message. The limit is put back at once:
    nothing we call needs the deep recursion (py_ecc's BLS pairings are not used).
    """
    limit = sys.getrecursionlimit()
    try:
        import eth_account  # noqa: F401
        import web3  # noqa: F401
    finally:
        sys.setrecursionlimit(limit)


@dataclass(frozen=True)
class Signer:
    """Who sends: a decrypted keystore key, or an account the node unlocks."""

    address: str
    source: str
    """For messages: ``keystore FILE`` or ``node account``."""
    key: bytes | None = field(default=None, repr=False)
    """None: the node signs (``eth_sendTransaction``)."""


def read_keystore(
    path: Path,
    *,
    environ: Mapping[str, str],
    prompt: Callable[[str], str] | None,
    flag: str = "--keystore",
) -> Signer:
    """Decrypt the keystore at ``path``; a damaged file or a wrong password is exit 2.

    ``prompt`` asks for the password on a terminal (None: no terminal to ask on); ``flag``
    names where the path came from (``NODERR_KEYSTORE``) in messages.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot read: {exc.strerror or exc}") from None
    except ValueError:
        raise InputError(f"{flag} {path}: not a JSON keystore") from None
    if not isinstance(document, dict) or not isinstance(
        document.get("crypto", document.get("Crypto")), dict
    ):
        raise InputError(f"{flag} {path}: not an encrypted JSON keystore (no 'crypto')")
    password = environ.get(PASSWORD_VARIABLE)
    if password is None:
        if prompt is None:
            raise UsageError(
                f"{flag} {path}: no password: set {PASSWORD_VARIABLE}"
                " (there is no terminal to ask on)"
            )
        password = prompt(f"Password for keystore {path.name}: ")
    load_signing()
    from eth_account import Account

    try:
        key = bytes(Account.decrypt(document, password))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise UsageError(f"{flag} {path}: wrong password (or a damaged keystore)") from None
        raise InputError(f"{flag} {path}: cannot decrypt: damaged keystore") from None
    except Exception:
        # eth-keyfile raises KeyError/TypeError/NotImplementedError on odd files; their
        # messages are about the file's structure, but say nothing we need to echo.
        raise InputError(f"{flag} {path}: cannot decrypt: damaged keystore") from None
    address = Account.from_key(key).address
    declared = document.get("address")
    if isinstance(declared, str) and declared.lower().removeprefix("0x") != address[2:].lower():
        raise InputError(f"{flag} {path}: the key is for {address}, not the file's address")
    return Signer(address=address, source=f"keystore {path}", key=key)


@dataclass(frozen=True)
class SendResult:
    transaction_hash: str
    block: int
    gas_used: int
    sender: str


class Sender:
    """One web3 connection with the command's time budget: estimate, sign, send, wait."""

    def __init__(
        self, rpc_url: str, timeout: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        load_signing()
        from web3 import HTTPProvider, Web3

        self.url = rpc_url
        self.timeout = timeout
        self.clock = clock
        self.deadline = clock() + timeout
        self.w3 = Web3(
            HTTPProvider(
                rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
            )
        )

    @property
    def shown(self) -> str:
        return redact_endpoint(self.url)

    def _left(self) -> float:
        return max(0.1, self.deadline - self.clock())

    def node_signer(self, address: str, expected_chain: int | None, actual_chain: int) -> Signer:
        """``--from ADDRESS``: only on the chain asked for, and an account the node lists."""
        account = checksum_address(address, "--from address")
        if expected_chain is None:
            raise UsageError(
                "--from sends from an account the node unlocks (development chains only):"
                " give --chain-id too, so a production endpoint is never used by mistake"
            )
        if expected_chain != actual_chain:
            raise UsageError(
                f"--from: RPC {self.shown} serves chain {actual_chain}, not --chain-id"
                f" {expected_chain}"
            )
        accounts = self._rpc(lambda: self.w3.eth.accounts, "eth_accounts")
        if account.lower() not in {str(a).lower() for a in accounts}:
            raise UsageError(
                f"--from {account}: RPC {self.shown} does not unlock this account"
                " (not in its eth_accounts)"
            )
        return Signer(address=account, source="node account")

    def _rpc(self, call: Callable[[], Any], what: str) -> Any:
        import requests
        from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception

        try:
            return call()
        except ContractLogicError as exc:
            raise ChainError(f"{what}: reverted: {_reason(exc)}") from None
        except TimeExhausted:
            raise
        except requests.Timeout:
            raise ChainError(
                f"RPC {self.shown} did not answer within {self.timeout:g} s ({what})"
            ) from None
        except requests.RequestException as exc:
            raise ChainError(
                f"RPC {self.shown} unreachable ({what}: {type(exc).__name__})"
            ) from None
        except (Web3Exception, ValueError) as exc:
            raise ChainError(f"{what} failed on {self.shown}: {_message(exc, self.url)}") from None

    def transaction(self, action: Action, signer: Signer) -> dict[str, Any]:
        """The transaction to send: gas estimated (a revert is reported here, before any
        signing), nonce and fees from the node."""
        tx: dict[str, Any] = {
            "from": signer.address,
            "to": action.target,
            "value": 0,
            "data": action.data,
            "chainId": action.chain_id,
        }
        params = cast("TxParams", tx)
        gas = self._rpc(
            lambda: self.w3.eth.estimate_gas(params), f"{action.call.function.name} (gas estimate)"
        )
        tx["gas"] = int(gas * GAS_MARGIN)
        tx["nonce"] = self._rpc(
            lambda: self.w3.eth.get_transaction_count(
                cast("ChecksumAddress", signer.address), "pending"
            ),
            "the nonce",
        )
        block = self._rpc(lambda: self.w3.eth.get_block("latest"), "the latest block")
        base = block.get("baseFeePerGas")
        if base is not None:
            tip = self._rpc(lambda: self.w3.eth.max_priority_fee, "the priority fee")
            tx["maxPriorityFeePerGas"] = int(tip)
            tx["maxFeePerGas"] = int(base) * 2 + int(tip)
        else:
            tx["gasPrice"] = int(self._rpc(lambda: self.w3.eth.gas_price, "the gas price"))
        return tx

    def send(self, tx: dict[str, Any], signer: Signer, what: str) -> SendResult:
        """Sign (or let the node sign) and send ``tx``; wait for its receipt within the budget.

        A revert is exit 1 with the reason, found by replaying the call at the block before.
        """
        from web3.exceptions import TimeExhausted

        if signer.key is not None:
            from eth_account import Account

            signed = Account.sign_transaction(tx, signer.key)
            tx_hash = self._rpc(
                lambda: self.w3.eth.send_raw_transaction(signed.raw_transaction), f"sending {what}"
            )
        else:
            tx_hash = self._rpc(lambda: self.w3.eth.send_transaction(tx), f"sending {what}")  # type: ignore[arg-type]
        shown_hash = "0x" + bytes(tx_hash).hex()
        try:
            receipt = self._rpc(
                lambda: self.w3.eth.wait_for_transaction_receipt(
                    tx_hash, timeout=self._left(), poll_latency=0.2
                ),
                f"the receipt of {shown_hash}",
            )
        except TimeExhausted:
            raise ChainError(
                f"transaction {shown_hash} sent, but no receipt within --timeout {self.timeout:g} s"
                " (it may still be mined: look it up before sending again)"
            ) from None
        block = int(receipt["blockNumber"])
        if int(receipt["status"]) != 1:
            reason = self._revert_reason(tx, block)
            raise ChainError(f"transaction {shown_hash} reverted in block {block}: {reason}")
        return SendResult(shown_hash, block, int(receipt["gasUsed"]), signer.address)

    def _revert_reason(self, tx: dict[str, Any], block: int) -> str:
        from web3.exceptions import ContractLogicError

        call = {k: tx[k] for k in ("from", "to", "data", "value")}
        try:
            self.w3.eth.call(call, block_identifier=max(block - 1, 0))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            return _reason(exc)
        except Exception:
            pass
        return "no reason given"


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc)
    text = text.removeprefix("execution reverted: ").removeprefix("execution reverted")
    # Text from the chain: control characters escaped, cut to a line.
    return clipped(text.strip() or "no reason given", 300)


def _message(exc: Exception, url: str) -> str:
    text = str(exc.args[0] if exc.args else exc)
    if isinstance(exc.args[0] if exc.args else None, dict):
        text = str(exc.args[0].get("message", text))
    return clipped(scrub(text, url))
