"""Each real component answers and does the job the integration tests rely on."""

from __future__ import annotations

import io
import json
import tarfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from tests.support.anvil import Anvil, AnvilError
from tests.support.containers import run_container
from tests.support.solidity import CompiledContract

AnvilFactory = Callable[..., Anvil]

# Alpine-style user creation and tini as PID 1, as in the production Dockerfile; the RUN step
# also proves the build has no network (only the loopback interface exists).
_SMOKE_DOCKERFILE = """\
FROM {base}
RUN test "$(ls /sys/class/net)" = lo
RUN addgroup -g 1001 noderr && adduser -u 1001 -G noderr -D noderr
USER 1001
WORKDIR /home/noderr
ENTRYPOINT ["/sbin/tini", "--"]
CMD ["node", "-e", "console.log(1+1)"]
"""

_COUNTER_SOL = """\
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract Counter {
    uint256 public count = 41;

    function inc() external {
        count += 1;
    }
}
"""
# 4-byte selectors (first bytes of keccak256 of the signature), to stay free of web3 here.
_COUNT_SELECTOR = "0x06661abd"  # count()
_INC_SELECTOR = "0x371303c0"  # inc()


def _build(client: docker.DockerClient, dockerfile: str, tag: str) -> str:
    """Build with the network disabled; return the image id. Errors arrive in the stream."""
    log: list[str] = []
    image_id = None
    for chunk in client.api.build(
        fileobj=io.BytesIO(dockerfile.encode()),
        tag=tag,
        rm=True,
        forcerm=True,
        network_mode="none",
        decode=True,
    ):
        if "errorDetail" in chunk:
            pytest.fail(f"build failed: {chunk['errorDetail']}\n{''.join(log)}")
        log.append(chunk.get("stream", ""))
        image_id = chunk.get("aux", {}).get("ID", image_id)
    assert image_id, "".join(log)
    return str(image_id)


@pytest.fixture
def smoke_image(docker_client: docker.DockerClient, base_image: str) -> Iterator[str]:
    tag = f"noderr-test/smoke:{uuid.uuid4().hex[:12]}"
    _build(docker_client, _SMOKE_DOCKERFILE.format(base=base_image), tag)
    yield tag
    docker_client.images.remove(tag, force=True)


def _run(client: docker.DockerClient, image: str, command: list[str] | None = None) -> str:
    result = run_container(client, image, command)
    assert result.exit_code == 0, result
    return result.stdout.strip()


def test_docker_answers_ping(docker_client: docker.DockerClient) -> None:
    assert docker_client.ping() is True


def test_base_image_is_cached(docker_client: docker.DockerClient, base_image: str) -> None:
    from tests.support.base_image import build_base_image

    started = time.monotonic()
    assert build_base_image(docker_client) == base_image
    assert time.monotonic() - started < 5, "a second build should find the tagged image"


def test_image_from_base_runs_node_under_tini_as_user_1001(
    docker_client: docker.DockerClient, smoke_image: str
) -> None:
    assert _run(docker_client, smoke_image) == "2"
    assert _run(docker_client, smoke_image, ["tini", "--version"]).startswith("tini version")
    assert _run(docker_client, smoke_image, ["id"]) == (
        "uid=1001(noderr) gid=1001(noderr) groups=1001(noderr)"
    )
    # The ENTRYPOINT's tini is PID 1 and the command runs under it.
    cmdline = _run(docker_client, smoke_image, ["cat", "/proc/1/cmdline"])
    assert cmdline.split("\0")[:3] == ["/sbin/tini", "--", "cat"]


def _tiny_image(client: docker.DockerClient, repository: str, tag: str) -> None:
    """Import a one-file image (no base needed): the cheapest thing to push."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        data = f"{repository}:{tag}\n".encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    client.api.import_image_from_data(archive.getvalue(), repository=repository, tag=tag)


def _registry_get(url: str, accept: str | None = None) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), json.load(response)


def test_registry_answers_v2(registry: str) -> None:
    status, _, _ = _registry_get(f"http://{registry}/v2/")
    assert status == 200


def test_push_to_registry_lists_the_tag(docker_client: docker.DockerClient, registry: str) -> None:
    repository = f"{registry}/noderr-test/push-smoke"
    tag = uuid.uuid4().hex[:12]
    _tiny_image(docker_client, repository, tag)
    try:
        digest = None
        for chunk in docker_client.api.push(repository, tag=tag, stream=True, decode=True):
            # docker-py returns push failures inside the stream instead of raising.
            assert "errorDetail" not in chunk and "error" not in chunk, chunk
            digest = chunk.get("aux", {}).get("Digest", digest)
        assert digest, "the push stream carried no digest"
    finally:
        docker_client.images.remove(f"{repository}:{tag}", force=True)

    _, _, tags = _registry_get(f"http://{registry}/v2/noderr-test/push-smoke/tags/list")
    assert tag in tags["tags"]
    _, headers, _ = _registry_get(
        f"http://{registry}/v2/noderr-test/push-smoke/manifests/{tag}",
        accept="application/vnd.docker.distribution.manifest.v2+json",
    )
    assert headers["Docker-Content-Digest"] == digest


def test_anvil_answers_chain_id(anvil: Anvil) -> None:
    assert anvil.chain_id == 31337
    assert len(anvil.accounts()) == 10


def test_private_anvil_options_time_travel_and_kill(anvil_factory: AnvilFactory) -> None:
    genesis = 1_700_000_000
    node = anvil_factory(chain_id=4242, timestamp=genesis)
    assert node.chain_id == 4242
    assert int(node.rpc("eth_getBlockByNumber", ["0x0", False])["timestamp"], 16) == genesis

    node.increase_time(3600)
    latest = node.rpc("eth_getBlockByNumber", ["latest", False])
    assert int(latest["timestamp"], 16) >= genesis + 3600

    before = node.block_number()
    node.mine(5)
    assert node.block_number() == before + 5

    node.kill()
    assert not node.alive()
    with pytest.raises(OSError):
        node.rpc("eth_chainId", timeout=2)


def test_anvil_rpc_errors_raise(anvil: Anvil) -> None:
    with pytest.raises(AnvilError, match="no_such_method"):
        anvil.rpc("no_such_method")


def _call_uint(node: Anvil, address: str, selector: str) -> int:
    return int(node.rpc("eth_call", [{"to": address, "data": selector}, "latest"]), 16)


def test_solcjs_contract_deploys_and_runs_on_anvil(
    solc: Callable[..., CompiledContract], anvil: Anvil, tmp_path: Path
) -> None:
    source = tmp_path / "Counter.sol"
    source.write_text(_COUNTER_SOL)
    abi, bytecode = solc(source)
    assert {item.get("name") for item in abi} >= {"count", "inc"}
    assert solc(source) is solc(source), "compiling the same source twice should hit the cache"

    snapshot = anvil.snapshot()  # the session's chain is shared: leave it as we found it
    try:
        address = str(anvil.transact({"data": bytecode})["contractAddress"])
        assert anvil.rpc("eth_getCode", [address, "latest"]) not in ("0x", "0x0")
        assert _call_uint(anvil, address, _COUNT_SELECTOR) == 41
        anvil.transact({"to": address, "data": _INC_SELECTOR})
        assert _call_uint(anvil, address, _COUNT_SELECTOR) == 42
    finally:
        assert anvil.revert(snapshot)
    assert anvil.rpc("eth_getCode", [address, "latest"]) in ("0x", "0x0")


def test_run_container_keeps_unterminated_output_and_exit_code(
    docker_client: docker.DockerClient, base_image: str
) -> None:
    result = run_container(
        docker_client, base_image, ["sh", "-c", "printf out; printf err >&2; exit 3"]
    )
    assert result == (3, "out", "err")


def test_run_container_kills_a_hung_command(
    docker_client: docker.DockerClient, base_image: str
) -> None:
    started = time.monotonic()
    result = run_container(docker_client, base_image, ["sleep", "60"], timeout=1)
    assert result.exit_code == 137  # SIGKILL
    assert time.monotonic() - started < 15
