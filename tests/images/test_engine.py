"""Parsing the engine's build and push streams, and reaching (or not) the engine.

The chunks are shaped as Docker Engine 20.10 sends them (recorded from real builds and pushes
here); tests against the real engine are in tests/integration/test_build.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from noderr_deploy.errors import EngineError
from noderr_deploy.images.engine import (
    DEFAULT_SOCKET,
    BuildStreamParser,
    Built,
    Failed,
    Log,
    Step,
    connect,
    engine_address,
)
from noderr_deploy.images.push import LayerProgress, Pushed, parse_push_chunk


def test_build_stream_lines_steps_and_image_id() -> None:
    parser = BuildStreamParser()
    chunks = [
        {"stream": "Step 1/3 : FROM base"},
        {"stream": "\n"},
        {"stream": " ---> 28628e8a0ac4\n"},
        {"stream": "Step 2/3 : RUN echo hi && \\\n  echo there"},
        {"stream": "\n"},
        {"stream": "hi\nthe"},
        {"stream": "re\n"},
        {"aux": {"ID": "sha256:stage"}},
        {"stream": 'Step 3/3 : CMD ["node"]\n'},
        {"aux": {"ID": "sha256:final"}},
        {"stream": "Successfully built final"},
    ]
    events = [event for chunk in chunks for event in parser.feed(chunk)] + parser.flush()
    assert events == [
        Step(1, 3, "FROM base"),
        Log(" ---> 28628e8a0ac4"),
        Step(2, 3, "RUN echo hi && \\"),
        Log("  echo there"),
        Log("hi"),
        Log("there"),
        Built("sha256:stage"),
        Step(3, 3, 'CMD ["node"]'),
        Built("sha256:final"),
        Log("Successfully built final"),
    ]


def test_build_stream_error_detail_wins_over_error() -> None:
    parser = BuildStreamParser()
    assert parser.feed({"stream": "partial"}) == []
    events = parser.feed(
        {
            "errorDetail": {"code": 3, "message": "The command '/bin/sh -c exit 3' returned 3"},
            "error": "deprecated text",
        }
    )
    assert events == [Log("partial"), Failed("The command '/bin/sh -c exit 3' returned 3")]
    assert parser.feed({"error": "only the old field"}) == [Failed("only the old field")]


def test_push_stream() -> None:
    assert parse_push_chunk({"status": "The push refers to repository [r/x]"}) == []
    assert parse_push_chunk(
        {"status": "Preparing", "progressDetail": {}, "id": "a79215d52ff2"}
    ) == [LayerProgress("a79215d52ff2", "Preparing")]
    assert parse_push_chunk(
        {"status": "Pushing", "progressDetail": {"current": 512, "total": 2048}, "id": "ab"}
    ) == [LayerProgress("ab", "Pushing", 512, 2048)]
    assert parse_push_chunk(
        {"progressDetail": {}, "aux": {"Tag": "1-all", "Digest": "sha256:d1", "Size": 1570}}
    ) == [Pushed("1-all", "sha256:d1", 1570)]
    error = {
        "errorDetail": {"message": "Get http://127.0.0.1:1/v2/: connection refused"},
        "error": "Get http://127.0.0.1:1/v2/: connection refused",
    }
    assert parse_push_chunk(error) == [Failed("Get http://127.0.0.1:1/v2/: connection refused")]


def test_engine_address_is_redacted() -> None:
    assert engine_address({}) == DEFAULT_SOCKET
    assert engine_address({"DOCKER_HOST": "tcp://ops:hunter2@10.0.0.5:2376"}) == (
        "tcp://***@10.0.0.5:2376"
    )


@pytest.mark.parametrize(
    "host",
    [
        "tcp://127.0.0.1:1?token=hunter2",
        "tcp://ops:hunter2@127.0.0.1:1",
        "ssh://ops@127.0.0.1:22?key=hunter2&x=1",
        "tcp://127.0.0.1:1#hunter2",
        "tcp://[::1/?t=hunter2",
    ],
)
def test_no_part_of_a_docker_host_secret_is_ever_shown(host: str) -> None:
    # A hostile review: the SDK repeated the whole DOCKER_HOST in its reason text.
    with pytest.raises(EngineError) as raised:
        connect({"DOCKER_HOST": host}, timeout=2)
    assert "hunter2" not in raised.value.message, raised.value.message
    assert raised.value.message.startswith("cannot reach the Docker engine at ")


def test_dead_socket_is_an_engine_error(tmp_path: pytest.TempPathFactory) -> None:
    socket = f"unix://{tmp_path}/no-such.sock"
    with pytest.raises(EngineError) as raised:
        connect({"DOCKER_HOST": socket}, timeout=5)
    assert raised.value.message == (
        f"cannot reach the Docker engine at {socket}: No such file or directory"
    )


def test_engine_failures_map_to_our_errors() -> None:
    import docker.errors
    import requests

    from noderr_deploy.errors import BuildError, EngineError, RegistryError
    from noderr_deploy.images.engine import engine_call

    refusal = docker.errors.APIError("500", explanation="denied:  no\n access")
    with (
        pytest.raises(RegistryError) as refused,
        engine_call("push of r:1 failed", "lost the engine while pushing r:1", RegistryError),
    ):
        raise refusal
    assert refused.value.message == "push of r:1 failed: denied: no access"
    with (
        pytest.raises(EngineError) as lost,
        engine_call("cannot tag x", "lost the Docker engine while tagging x"),
    ):
        raise requests.exceptions.ConnectionError("Connection aborted.")
    assert lost.value.message == "lost the Docker engine while tagging x: Connection aborted."
    # Our own errors raised inside the block pass through unchanged.
    with pytest.raises(BuildError, match=r"^step 3 failed$"), engine_call("refused", "lost"):
        raise BuildError("step 3 failed")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Invalid bind address format: tcp://ops:pw@10.0.0.1:2375", "tcp://***@10.0.0.1:2375"),
        ("ssh://root:hunter2@host and https://u@h/x", "ssh://***@host and https://***@h/x"),
        ("no url here", "no url here"),
    ],
)
def test_scrub_masks_user_info_in_sdk_text(text: str, shown: str) -> None:
    from noderr_deploy.images.engine import scrub

    assert shown in scrub(text)
    assert "pw@" not in scrub(text) and "hunter2" not in scrub(text)


@pytest.mark.parametrize(
    ("reference", "registry"),
    [
        ("127.0.0.1:5001/noderr/noderr-node-os:1-all", "127.0.0.1:5001"),
        ("ghcr.io/noderrxyz/noderr-node-os:1-all", "ghcr.io"),
        ("localhost/x:1", "localhost"),
        ("noderr/noderr-node-os:1", "docker.io"),
    ],
)
def test_registry_of(reference: str, registry: str) -> None:
    from noderr_deploy.images.push import registry_of

    assert registry_of(reference) == registry


def test_failed_step_tail_leaves_out_builder_bookkeeping() -> None:
    from noderr_deploy.errors import BuildError
    from noderr_deploy.images.engine import build_image
    from noderr_deploy.images.plan import BuildPlan
    from noderr_deploy.images.tarball import BuildContext

    chunks = [
        {"stream": "Step 1/2 : FROM base\n"},
        {"stream": " ---> abc\n"},
        {"stream": "Step 2/2 : RUN false\n"},
        {"stream": " ---> Running in 123\n"},
        {"stream": "real output\n"},
        {"stream": "Removing intermediate container 123\n"},
        {"errorDetail": {"message": "The command returned a non-zero code: 1"}},
    ]

    class Api:
        def build(self, **kwargs: object) -> object:
            return iter(chunks)

    class Client:
        api = Api()

    plan = BuildPlan("all", (), ("a:1", "a:2"), {}, {}, Path("Dockerfile"), BuildContext(()), 1)
    with pytest.raises(BuildError) as raised:
        build_image(Client(), plan)
    assert raised.value.details == [
        "error: The command returned a non-zero code: 1",
        "last lines of step 2:",
        "  real output",
    ]
