"""The RPC client's budget, retries, id matching, size cap and messages, against real
servers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from noderr_deploy.chain.rpc import RpcClient, connect
from noderr_deploy.chain.settings import (
    ChainSettings,
    check_timeout,
    checksum_address,
    parse_block,
    parse_endpoint,
)
from noderr_deploy.chain.transport import Deadline, HttpTransport
from noderr_deploy.errors import ChainError, UsageError
from noderr_deploy.redact import UNPARSABLE_ENDPOINT, redact_endpoint
from tests.support.rpc_servers import CannedServer, ScriptedServer, SilentServer, TrickleServer

ADDRESS = "0x" + "11" * 20


def settings(url: str, timeout: float = 5.0) -> ChainSettings:
    return ChainSettings(rpc_url=url, beacon_address=ADDRESS, timeout=timeout)


def client(url: str, timeout: float = 5.0) -> RpcClient:
    return connect(settings(url, timeout))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def echo(results: Callable[[list[dict[str, Any]]], list[Any]]) -> Callable[..., Any]:
    """A server answer: ``results(batch)`` as the JSON body, status 200."""
    return lambda batch: (200, json.dumps(results(batch)).encode())


def ok_entries(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"jsonrpc": "2.0", "id": c["id"], "result": c["method"]} for c in batch]


CALLS = [("eth_chainId", []), ("eth_blockNumber", []), ("net_version", [])]


# ---- values from the command line ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [("latest", "latest"), ("SAFE", "safe"), ("finalized", "finalized"), ("12", 12),
     ("0x1f", 31), (" 0 ", 0), (str(2**64 - 1), 2**64 - 1)],
)  # fmt: skip
def test_parse_block(text: str, expected: object) -> None:
    assert parse_block(text) == expected


@pytest.mark.parametrize(
    "text", ["pending", "-1", "1.5", "", "0xzz", str(2**64), "0x" + "f" * 17, "9" * 80]
)
def test_parse_block_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--block"):
        parse_block(text)


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), 1e308, 0.0, -1.0, 3600.5])
def test_unusable_timeouts(seconds: float) -> None:
    with pytest.raises(UsageError, match="--timeout"):
        check_timeout(seconds)


def test_usable_timeouts() -> None:
    assert check_timeout(0.01) == 0.01
    assert check_timeout(3600) == 3600


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


# ---- URLs: parsed strictly, never shown beyond scheme://host[:port] ----

SECRET = "s3cr3tKEY"

USERINFO_HINT = (
    " (if it carries user:password, percent-encode '/', '?', '#' and '@' in them);"
    " the URL is not shown, as it may hold a key"
)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"http://127.0.0.1:8545/{SECRET}\n",
         "the RPC URL contains whitespace or a control character (a trailing newline?);"
         " the URL is not shown, as it may hold a key"),
        (f"http://127.0.0.1:8545/{SECRET}\r", None),
        (f" http://127.0.0.1/{SECRET}", None),
        (f"http://127.0.0.1/{SECRET}\x1b[2J", None),
        (f"wss://node.example/v3/{SECRET}",
         "the RPC URL's scheme 'wss' is not http or https (websocket and IPC endpoints are"
         " not supported)"),
        (f"node.example:8545/{SECRET}", "the RPC URL does not start with http:// or https://"),
        (f"/tmp/{SECRET}.ipc", "the RPC URL does not start with http:// or https://"),
        ("http://", "the RPC URL has no valid host" + USERINFO_HINT),
        (f"http://127.0.0.1:99999/{SECRET}",
         "the RPC URL's host or port does not parse (a port is a number in 1..65535)"
         + USERINFO_HINT),
        ("http://[::1", None),
        (f"https://user:{SECRET}/x@rpc.example/", None),
        (f"https://user:{SECRET}?x@rpc.example/", None),
        (f"https://user:{SECRET}#x@rpc.example/", None),
        (f"https://us/er{SECRET}:pw@rpc.example/", "the RPC URL has no valid host" + USERINFO_HINT),
        (f"https://{SECRET}_$@/", None),
        ("http://127.0.0.1:0", "the RPC URL's port 0 is not a port"),
    ],
)  # fmt: skip
def test_malformed_rpc_urls_are_usage_errors_that_never_quote_them(
    url: str, message: str | None
) -> None:
    with pytest.raises(UsageError) as failure:
        parse_endpoint(url)
    if message is not None:
        assert failure.value.message == message
    assert SECRET not in failure.value.message
    assert "127.0.0.1" not in failure.value.message and "example" not in failure.value.message
    assert redact_endpoint(url) == UNPARSABLE_ENDPOINT or SECRET not in redact_endpoint(url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("http://127.0.0.1:8545/", "http://127.0.0.1:8545"),
        ("HTTPS://RPC.Example", "https://rpc.example"),
        ("https://base-sepolia.g.alchemy.com/v2/AbCdEf0123456789xYz",
         "https://base-sepolia.g.alchemy.com/***"),
        ("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef",
         "https://mainnet.infura.io/***"),
        ("https://rpc.example/short", "https://rpc.example/***"),
        ("https://rpc.example/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
         "https://rpc.example/***"),
        ("https://rpc.example/abc+def/ghi=", "https://rpc.example/***"),
        ("https://user:pw@rpc.example:8545/", "https://rpc.example:8545/***"),
        ("https://rpc.example/?apikey=s3cret&chain=1", "https://rpc.example/***"),
        ("https://rpc.example/?JWT=a.b.c", "https://rpc.example/***"),
        ("https://rpc.example/#frag", "https://rpc.example/***"),
        ("https://rpc.example?", "https://rpc.example/***"),
        ("http://[::1]:8545/k", "http://[::1]:8545/***"),
    ],
)  # fmt: skip
def test_endpoints_show_scheme_host_and_port_only(url: str, shown: str) -> None:
    assert redact_endpoint(url) == shown


def test_credentials_in_the_url_are_sent_as_basic_auth() -> None:
    endpoint = parse_endpoint("https://alice:p%40ss@rpc.example:8545/v2/key?x=1")
    assert (endpoint.host, endpoint.port, endpoint.https) == ("rpc.example", 8545, True)
    assert endpoint.target == "/v2/key?x=1"
    assert endpoint.authorization == "Basic YWxpY2U6cEBzcw=="  # alice:p@ss


# ---- the deadline: the whole command, however the server stalls ----


def test_silent_server_fails_within_the_budget() -> None:
    with SilentServer() as server:
        rpc = client(server.url, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(ChainError) as failure:
            rpc.request("eth_chainId", [], "the chain id")
        elapsed = time.monotonic() - started
        assert server.connections == 1
    assert 0.4 < elapsed < 1.5
    assert failure.value.message == (
        f"RPC {server.url}: no answer within 0.5 s (reading the chain id;"
        " raise --timeout or NODERR_RPC_TIMEOUT)"
    )


@pytest.mark.parametrize("headers", [True, False], ids=["slow headers", "slow body"])
def test_trickling_server_fails_at_the_deadline(headers: bool) -> None:
    body = json.dumps([{"jsonrpc": "2.0", "id": 1, "result": "0x1"}]).encode()
    # One byte every 0.1 s: each read gets a byte well within any per-read timeout.
    with TrickleServer(body, delay=0.1, headers=headers) as server:
        rpc = client(server.url, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(ChainError, match=r"no answer within 1 s"):
            rpc.request("eth_chainId", [], "the chain id")
        elapsed = time.monotonic() - started
        assert server.connections == 1
    assert 0.9 < elapsed < 1.6


def test_budget_spans_batches() -> None:
    # The budget is the command's: a second batch gets what the first left.
    with CannedServer(200, b"[]") as server:
        clock = [0.0]
        deadline = Deadline(1.0, clock=lambda: clock[0])
        rpc = RpcClient(server.url, deadline=deadline)
        clock[0] = 1.5
        with pytest.raises(ChainError, match="no answer within 1 s"):
            rpc.request("eth_chainId", [], "the chain id")
        assert server.hits == 0


# ---- retries: only where a retry can help and cannot do harm ----


def test_overloaded_endpoint_is_tried_three_times() -> None:
    with CannedServer(503) as server:
        with pytest.raises(ChainError) as failure:
            client(server.url).request("eth_chainId", [], "the chain id")
        assert server.hits == 3
    assert failure.value.message == (
        f"RPC {server.url} unreachable (reading the chain id): HTTP 503 after 3 attempt(s)"
    )


def test_connection_refused_is_retried() -> None:
    port = closed_port()
    with pytest.raises(ChainError) as failure:
        client(f"http://127.0.0.1:{port}/v2/{SECRET}").request("eth_chainId", [], "the chain id")
    assert failure.value.message == (
        f"RPC http://127.0.0.1:{port}/*** unreachable (reading the chain id):"
        " connection refused after 3 attempt(s)"
    )


def test_client_errors_are_not_retried() -> None:
    with CannedServer(401) as server:
        with pytest.raises(ChainError) as failure:
            client(server.url + "/v2/abcDEF1234567890xyz").request("eth_chainId", [], "the id")
        assert server.hits == 1
    assert failure.value.message == f"RPC {server.url}/*** answered HTTP 401 (reading the id)"


@pytest.mark.parametrize(("status", "hits"), [(502, 1), (503, 1), (429, 3)])
def test_sending_a_transaction_is_retried_only_when_it_cannot_have_been_acted_on(
    status: int, hits: int
) -> None:
    with CannedServer(status) as server:
        with pytest.raises(ChainError):
            client(server.url).request("eth_sendRawTransaction", ["0x00"], "the transaction")
        assert server.hits == hits


def test_budget_spans_retries() -> None:
    # Every attempt is answered 503 at once; the backoff (0.2 s, 0.4 s) must stop at the budget.
    with CannedServer(503) as server:
        rpc = client(server.url, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(ChainError, match="unreachable"):
            rpc.request("eth_chainId", [], "the chain id")
        assert time.monotonic() - started < 0.6
        assert server.hits <= 2


def test_attempts_are_counted_per_request() -> None:
    with CannedServer(200, b'[{"jsonrpc":"2.0","id":1,"result":"0x7a69"}]') as server:
        rpc = client(server.url)
        assert rpc.request("eth_chainId", [], "the chain id") == "0x7a69"
        server.status = 502
        with pytest.raises(ChainError) as failure:
            rpc.request("eth_chainId", [], "the chain id")
        assert (server.hits, rpc.requests_sent) == (4, 4)
    assert failure.value.message.endswith("HTTP 502 after 3 attempt(s)")


# ---- replies: JSON, capped, matched by id ----


@pytest.mark.parametrize(
    "body",
    [b"<html>hello</html>", b"", b'[{"id":1,"result":NaN}]',
     b"\xff\xfe[]", b'[{"id":1,"result":' + b"9" * 5000 + b"}]"],
    ids=["html", "empty", "nan", "not utf-8", "huge int"],
)  # fmt: skip
def test_not_json(body: bytes) -> None:
    with CannedServer(200, body) as server, pytest.raises(ChainError) as failure:
        client(server.url).request("eth_chainId", [], "the chain id")
    assert failure.value.message == (
        f"RPC {server.url} answered the chain id with something that is not JSON"
        " (is this an Ethereum JSON-RPC endpoint?)"
    )


@pytest.mark.parametrize(
    "body",
    [b"[" * 1_000_000 + b"]" * 1_000_000, b'[{"a":' * 200_000 + b"1" + b"}]" * 200_000,
     b"[" * 65 + b"]" * 65],
    ids=["a million arrays", "objects", "65 levels"],
)  # fmt: skip
def test_deep_nesting_is_refused_before_decoding(body: bytes) -> None:
    # The C JSON decoder would overflow the C stack on the first two (a crash, not an error).
    with CannedServer(200, body) as server, pytest.raises(ChainError) as failure:
        client(server.url).request("eth_chainId", [], "the chain id")
    assert failure.value.message == (
        f"RPC {server.url} answered the chain id with JSON nested deeper than 64 levels"
        " (is this an Ethereum JSON-RPC endpoint?)"
    )


def test_brackets_in_strings_do_not_count_as_nesting() -> None:
    message = "[" * 500 + '\\"{' * 100
    body = json.dumps([{"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": message}}])
    with CannedServer(200, body.encode()) as server, pytest.raises(ChainError) as failure:
        client(server.url).request("eth_chainId", [], "the chain id")
    assert "failed on" in failure.value.message


def test_reply_size_is_capped() -> None:
    big = json.dumps([{"jsonrpc": "2.0", "id": 1, "result": "0x" + "00" * 600}]).encode()
    with CannedServer(200, big) as server:
        endpoint = parse_endpoint(server.url)
        rpc = RpcClient(
            server.url,
            deadline=Deadline(5),
            transport=HttpTransport(endpoint, max_bytes=1024),
        )
        with pytest.raises(ChainError) as failure:
            rpc.request("eth_chainId", [], "the chain id")
        assert server.hits == 1
    assert failure.value.message == (
        f"RPC {server.url} answered a reply over 1024 bytes (reading the chain id)"
    )


def test_default_cap_is_32_mb() -> None:
    body = b'[{"jsonrpc":"2.0","id":1,"result":"' + b"0" * (32 * 1024 * 1024) + b'"}]'
    with CannedServer(200, body) as server, pytest.raises(ChainError) as failure:
        client(server.url).request("eth_chainId", [], "the chain id")
    assert failure.value.message == (
        f"RPC {server.url} answered a reply larger than 32 MB (reading the chain id)"
    )


def test_batch_refused_as_a_whole() -> None:
    body = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batches disabled"}}'
    with CannedServer(200, body) as server, pytest.raises(ChainError) as failure:
        client(server.url).request("eth_chainId", [], "the chain id")
    assert failure.value.message == (
        f"RPC {server.url} rejected the request for the chain id: batches disabled"
    )


def test_replies_in_another_order_are_matched_by_id() -> None:
    with ScriptedServer(echo(lambda b: ok_entries(b)[::-1])) as server:
        replies = client(server.url).batch(CALLS, "three values")
    assert [r.result for r in replies] == ["eth_chainId", "eth_blockNumber", "net_version"]


def _drop(b: list[dict[str, Any]]) -> list[Any]:
    return ok_entries(b)[1:]


def _dup(b: list[dict[str, Any]]) -> list[Any]:
    e = ok_entries(b)
    return [e[0], e[0], e[2]]


def _foreign(b: list[dict[str, Any]]) -> list[Any]:
    e = ok_entries(b)
    e[1]["id"] = 999
    return e


def _extra(b: list[dict[str, Any]]) -> list[Any]:
    return [*ok_entries(b), {"jsonrpc": "2.0", "id": 77, "result": "0x1"}]


def _string_ids(b: list[dict[str, Any]]) -> list[Any]:
    return [{**e, "id": str(e["id"])} for e in ok_entries(b)]


def _no_ids(b: list[dict[str, Any]]) -> list[Any]:
    return [{"jsonrpc": "2.0", "result": e["result"]} for e in ok_entries(b)]


def _bool_id(b: list[dict[str, Any]]) -> list[Any]:
    e = ok_entries(b)
    e[0]["id"] = True  # == 1 in Python, but not the id sent
    return e


@pytest.mark.parametrize("answer", [_drop, _dup, _foreign, _extra, _string_ids, _no_ids, _bool_id])
def test_ids_that_do_not_match_the_request(answer: Callable[..., list[Any]]) -> None:
    with ScriptedServer(echo(answer)) as server, pytest.raises(ChainError) as failure:
        client(server.url).batch(CALLS, "three values")
    assert failure.value.message == (
        f"RPC {server.url} answered a batch with ids that do not match the request"
        " (reading three values)"
    )


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (lambda b: [1, 2, 3], "a batch entry that is not an object"),
        (lambda b: [None, *ok_entries(b)[1:]], "a batch entry that is not an object"),
        (lambda b: {"result": "0x1"}, "something that is not a JSON-RPC batch reply"),
        (lambda b: "0x1", "something that is not a JSON-RPC batch reply"),
        (lambda b: [{"id": c["id"]} for c in b],
         "a batch entry with neither or both result and error"),
        (lambda b: [{"id": c["id"], "result": 1, "error": {"message": "x"}} for c in b],
         "a batch entry with neither or both result and error"),
        (lambda b: [{"id": c["id"], "error": "boom"} for c in b], "an error that has no message"),
        (lambda b: [{"id": c["id"], "error": {"code": 1}} for c in b],
         "an error that has no message"),
    ],
)  # fmt: skip
def test_malformed_entries(answer: Callable[..., Any], detail: str) -> None:
    with ScriptedServer(echo(answer)) as server, pytest.raises(ChainError) as failure:
        client(server.url).batch(CALLS, "three values")
    assert failure.value.message == (
        f"RPC {server.url} answered three values with {detail}"
        " (is this an Ethereum JSON-RPC endpoint?)"
    )


def test_error_messages_from_the_node_are_scrubbed_and_printable() -> None:
    url_path = f"/v2/{SECRET}"

    def answer(batch: list[dict[str, Any]]) -> list[Any]:
        message = f"bad key {SECRET} for http://x{url_path}\x1b[31m [bold]red[/]"
        return [{"id": c["id"], "error": {"code": -32000, "message": message}} for c in batch]

    with ScriptedServer(echo(answer)) as server:
        rpc = client(server.url + url_path)
        with pytest.raises(ChainError) as failure:
            rpc.request("eth_chainId", [], "the chain id")
    message = failure.value.message
    assert SECRET not in message
    assert "\x1b" not in message
    assert message == (
        f"the chain id failed on {server.url}/***: bad key *** for http://x***\\x1b[31m"
        " [bold]red[/]"
    )


def test_the_connection_is_kept_between_batches() -> None:
    with ScriptedServer(echo(ok_entries)) as server:
        rpc = client(server.url)
        for _ in range(3):
            rpc.batch(CALLS, "three values")
        assert rpc.requests_sent == 3
        assert len(server.requests) == 3


def test_ids_are_never_reused_within_a_client() -> None:
    with ScriptedServer(echo(ok_entries)) as server:
        rpc = client(server.url)
        rpc.batch(CALLS, "three values")
        rpc.batch(CALLS, "three values")
    ids = [c["id"] for batch in server.requests for c in batch]
    assert len(ids) == len(set(ids)) == 6
