"""The RPC client's budget, retries and messages, against real servers on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from noderr_deploy.chain.rpc import ChainSettings, checksum_address, connect, parse_block
from noderr_deploy.errors import ChainError, UsageError
from tests.support.rpc_servers import CannedServer, SilentServer

ADDRESS = "0x" + "11" * 20


def settings(url: str, timeout: float = 5.0) -> ChainSettings:
    return ChainSettings(rpc_url=url, beacon_address=ADDRESS, timeout=timeout)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("latest", "latest"), ("SAFE", "safe"), ("finalized", "finalized"), ("12", 12),
     ("0x1f", 31), (" 0 ", 0)],
)  # fmt: skip
def test_parse_block(text: str, expected: object) -> None:
    assert parse_block(text) == expected


@pytest.mark.parametrize("text", ["pending", "-1", "1.5", "", "0xzz"])
def test_parse_block_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--block"):
        parse_block(text)


def test_checksum_address_eip55_vectors() -> None:
    # From EIP-55.
    for good in (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    ):
        assert checksum_address(good.lower()) == good
        assert checksum_address(good) == good
        assert checksum_address("0x" + good[2:].upper()) == good


def test_checksum_address_rejects_malformed_and_bad_checksums() -> None:
    with pytest.raises(UsageError) as short:
        checksum_address("0x1234")
    assert short.value.message == (
        "malformed beacon address '0x1234': expected 0x followed by 40 hex digits"
    )
    with pytest.raises(UsageError) as typo:
        checksum_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")
    assert typo.value.message == (
        "malformed beacon address '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD': bad EIP-55"
        " checksum (did you mean 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed?)"
    )


def test_only_http_endpoints() -> None:
    with pytest.raises(UsageError, match="not an http:// or https:// URL"):
        connect(settings("wss://node.example/v3/abcDEF1234567890xyz"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://", "RPC URL 'http://' has no valid host"),
        ("http://exa mple.com", "RPC URL 'http://exa mple.com' has no valid host"),
        ("http://127.0.0.1:99999", "RPC URL 'http://127.0.0.1:99999' is malformed:"
         " Port out of range 0-65535"),
        ("node.example:8545", "RPC URL 'node.example:8545' is not an http:// or https:// URL"
         " (websocket and IPC endpoints are not supported)"),
    ],
)  # fmt: skip
def test_malformed_rpc_urls_are_usage_errors(url: str, message: str) -> None:
    with pytest.raises(UsageError) as failure:
        connect(settings(url))
    assert failure.value.message == message


def test_silent_server_fails_within_the_budget() -> None:
    with SilentServer() as server:
        client = connect(settings(server.url, timeout=0.5))
        started = time.monotonic()
        with pytest.raises(ChainError) as failure:
            client.call("eth_chainId", [], "the chain id")
        elapsed = time.monotonic() - started
        assert server.connections == 1
    assert 0.4 < elapsed < 1.5
    assert failure.value.message == (
        f"RPC {server.url} did not answer within 0.5 s (reading the chain id;"
        " raise --timeout or NODERR_RPC_TIMEOUT)"
    )


def test_overloaded_endpoint_is_tried_three_times() -> None:
    with CannedServer(503) as server:
        client = connect(settings(server.url))
        with pytest.raises(ChainError) as failure:
            client.call("eth_chainId", [], "the chain id")
        assert server.hits == 3
    assert failure.value.message == (
        f"RPC {server.url} unreachable (reading the chain id): HTTP 503 after 3 attempt(s)"
    )


def test_client_errors_are_not_retried() -> None:
    with CannedServer(401) as server:
        client = connect(settings(server.url + "/v2/abcDEF1234567890xyz"))
        with pytest.raises(ChainError) as failure:
            client.call("eth_chainId", [], "the chain id")
        assert server.hits == 1
    assert failure.value.message == (
        f"RPC {server.url}/v2/*** answered HTTP 401 (reading the chain id)"
    )


def test_not_json() -> None:
    with (
        CannedServer(200, b"<html>hello</html>") as server,
        pytest.raises(ChainError, match="not JSON"),
    ):
        connect(settings(server.url)).call("eth_chainId", [], "the chain id")


def test_batch_refused_as_a_whole() -> None:
    body = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batches disabled"}}'
    with CannedServer(200, body) as server, pytest.raises(ChainError) as failure:
        connect(settings(server.url)).call("eth_chainId", [], "the chain id")
    assert failure.value.message == (
        f"RPC {server.url} rejected the request for the chain id: batches disabled"
    )


def test_budget_spans_retries() -> None:
    # Every attempt is answered 503 at once; the backoff (0.2 s, 0.4 s) must stop at the budget.
    with CannedServer(503) as server:
        client = connect(settings(server.url, timeout=0.3))
        started = time.monotonic()
        with pytest.raises(ChainError, match="unreachable"):
            client.call("eth_chainId", [], "the chain id")
        assert time.monotonic() - started < 0.6
        assert server.hits <= 2


def test_attempts_are_counted_per_request() -> None:
    with CannedServer(200, b'[{"jsonrpc":"2.0","id":1,"result":"0x7a69"}]') as server:
        client = connect(settings(server.url))
        assert client.call("eth_chainId", [], "the chain id") == "0x7a69"
        server.status = 502
        with pytest.raises(ChainError) as failure:
            client.call("eth_chainId", [], "the chain id")
        assert (server.hits, client.requests_sent) == (4, 4)
    assert failure.value.message.endswith("HTTP 502 after 3 attempt(s)")
