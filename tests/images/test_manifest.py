"""The registry's manifest of a tag, asked over HTTP from a small local registry stand-in.

The stand-in is a real HTTP server on 127.0.0.1 answering what each test sets: the shapes a
registry may send (manifest, OCI index, manifest list), redirects, challenges, and garbage.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noderr_deploy.errors import RegistryError
from noderr_deploy.images.manifest import MAX_MANIFEST_BYTES, Platform, image_at_tag
from noderr_deploy.images.registry import ImageRef

CONFIG = "sha256:" + "c" * 64
OTHER = "sha256:" + "d" * 64
AMD64 = Platform("linux", "amd64")
SECRET = "pa55-w0rd-never-shown"


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stand:
    """What the server answers per path, and what it was asked."""

    host: str = ""
    routes: dict[str, Answer] = field(default_factory=dict)
    user: str | None = None
    seen: list[tuple[str, str | None]] = field(default_factory=list)


def manifest(config: str = CONFIG) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": config, "size": 1},
            "layers": [],
        }
    ).encode()


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def index(*entries: tuple[dict[str, str], str]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"digest": d, "platform": p} for p, d in entries],
        }
    ).encode()


@pytest.fixture(scope="module")
def stand() -> Iterator[Stand]:
    state = Stand()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            given = self.headers.get("Authorization")
            state.seen.append((self.path, given))
            if state.user is not None:
                token = base64.b64encode(f"{state.user}:{SECRET}".encode()).decode()
                if given != f"Basic {token}":
                    self._send(Answer(401, b"{}", {"WWW-Authenticate": 'Basic realm="t"'}))
                    return
            self._send(state.routes.get(self.path, Answer(404, b"{}")))

        do_HEAD = do_GET

        def _send(self, answer: Answer) -> None:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value.replace("HOST", state.host))
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.host = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh(stand: Stand) -> Stand:
    stand.routes.clear()
    stand.seen.clear()
    stand.user = None
    return stand


def ask(stand: Stand, credentials: tuple[str, str] | None = None) -> tuple[str, str]:
    found = image_at_tag(
        ImageRef(stand.host, "noderr/noderr-node-os", "1.0.0-all"),
        platform=AMD64,
        credentials=credentials,
        timeout=5,
    )
    return found.manifest_digest, found.config_digest


TAG_PATH = "/v2/noderr/noderr-node-os/manifests/1.0.0-all"


def by_digest(digest: str) -> str:
    return f"/v2/noderr/noderr-node-os/manifests/{digest}"


def test_a_manifest_names_its_config(fresh: Stand) -> None:
    body = manifest()
    fresh.routes[TAG_PATH] = Answer(body=body)
    assert ask(fresh) == (digest_of(body), CONFIG)


@pytest.mark.parametrize("kind", ["oci", "docker-list"])
def test_an_index_is_resolved_to_the_images_platform(fresh: Stand, kind: str) -> None:
    arm, amd = manifest(OTHER), manifest(CONFIG)
    body = index(
        ({"os": "linux", "architecture": "arm64", "variant": "v8"}, digest_of(arm)),
        ({"os": "linux", "architecture": "amd64"}, digest_of(amd)),
    )
    if kind == "docker-list":
        document = json.loads(body)
        document["mediaType"] = "application/vnd.docker.distribution.manifest.list.v2+json"
        body = json.dumps(document).encode()
    fresh.routes[TAG_PATH] = Answer(body=body)
    fresh.routes[by_digest(digest_of(arm))] = Answer(body=arm)
    fresh.routes[by_digest(digest_of(amd))] = Answer(body=amd)
    assert ask(fresh) == (digest_of(amd), CONFIG)


def test_an_index_without_the_platform_says_what_it_has(fresh: Stand) -> None:
    fresh.routes[TAG_PATH] = Answer(
        body=index(({"os": "linux", "architecture": "arm64", "variant": "v8"}, OTHER))
    )
    with pytest.raises(RegistryError) as caught:
        ask(fresh)
    assert caught.value.message == (
        f"{fresh.host}/noderr/noderr-node-os:1.0.0-all: the registry's index has no manifest"
        " for the image's platform linux/amd64 (it has: 'linux/arm64/v8')"
    )


def test_redirects_are_followed_on_the_same_host_only(fresh: Stand) -> None:
    body = manifest()
    fresh.routes[TAG_PATH] = Answer(307, headers={"Location": "/elsewhere"})
    fresh.routes["/elsewhere"] = Answer(body=body)
    assert ask(fresh) == (digest_of(body), CONFIG)
    fresh.routes[TAG_PATH] = Answer(302, headers={"Location": "http://example.invalid/x"})
    with pytest.raises(RegistryError, match="redirected to another host"):
        ask(fresh)
    # Another port is another host too: the credentials stay where they were sent.
    port = int(fresh.host.rsplit(":", 1)[1])
    fresh.routes[TAG_PATH] = Answer(302, headers={"Location": f"http://127.0.0.1:{port + 1}/"})
    with pytest.raises(RegistryError, match="redirected to another host"):
        ask(fresh)
    fresh.routes[TAG_PATH] = Answer(302, headers={"Location": "http://[::1/x"})
    with pytest.raises(RegistryError, match="a URL that does not parse"):
        ask(fresh)
    fresh.routes[TAG_PATH] = Answer(302, headers={"Location": TAG_PATH})
    with pytest.raises(RegistryError, match="more than 5 redirects"):
        ask(fresh)


def test_basic_auth_is_answered_and_refusal_never_shows_the_password(fresh: Stand) -> None:
    fresh.user = "pusher"
    fresh.routes[TAG_PATH] = Answer(body=manifest())
    assert ask(fresh, ("pusher", SECRET))[1] == CONFIG
    assert fresh.seen[0][1] is None and fresh.seen[-1][1] is not None  # challenged first
    for credentials in (("pusher", "wrong-" + SECRET), None):
        with pytest.raises(RegistryError) as caught:
            ask(fresh, credentials)
        assert "registry answered HTTP 401" in caught.value.message
        assert SECRET not in caught.value.message


GARBAGE = [
    (Answer(500, b"oops"), "registry answered HTTP 500"),
    (Answer(404, b"{}"), "the registry has no such manifest"),
    (Answer(body=b"<html>" + SECRET.encode()), "the registry's answer is not JSON"),
    (Answer(body=b"[1, 2]"), "the registry's answer is not a manifest"),
    (Answer(body=b'{"schemaVersion": 1, "fsLayers": []}'), "a schema 1 manifest without"),
    (Answer(body=b'{"config": {"digest": "sha256:short"}}'), "without an image config digest"),
    (Answer(body=b'{"manifests": "nope"}'), "the registry's index has no list of manifests"),
    (Answer(body=b" " * (MAX_MANIFEST_BYTES + 1)), "is over 4 MiB, not a manifest"),
]


@pytest.mark.parametrize(("answer", "said"), GARBAGE)
def test_garbage_is_one_registry_error(fresh: Stand, answer: Answer, said: str) -> None:
    fresh.routes[TAG_PATH] = answer
    with pytest.raises(RegistryError) as caught:
        ask(fresh)
    assert said in caught.value.message
    assert SECRET not in caught.value.message and "\n" not in caught.value.message


def test_an_index_naming_an_index_is_refused(fresh: Stand) -> None:
    inner = index(({"os": "linux", "architecture": "amd64"}, OTHER))
    fresh.routes[TAG_PATH] = Answer(body=index(({"os": "linux", "architecture": "amd64"},
                                                digest_of(inner))))  # fmt: skip
    fresh.routes[by_digest(digest_of(inner))] = Answer(body=inner)
    with pytest.raises(RegistryError, match="index names another index"):
        ask(fresh)


def test_a_registry_that_is_not_there_is_a_registry_error() -> None:
    from tests.support.components import free_port

    ref = ImageRef(f"127.0.0.1:{free_port()}", "n/x", "1")
    with pytest.raises(RegistryError, match=r"did not answer \(ConnectionError\)"):
        image_at_tag(ref, platform=AMD64, credentials=None, timeout=2)


JSONS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["config", "digest", "manifests", "platform", "mediaType", "os"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=JSONS, raw=st.binary(max_size=64), use_raw=st.booleans())
def test_any_answer_is_a_config_digest_or_one_registry_error(
    fresh: Stand, document: object, raw: bytes, use_raw: bool
) -> None:
    fresh.routes[TAG_PATH] = Answer(body=raw if use_raw else json.dumps(document).encode())
    try:
        _, config = ask(fresh)
    except RegistryError as error:
        assert "\n" not in error.message
    else:
        assert config.startswith("sha256:")


@pytest.mark.parametrize(
    ("repository", "ref"),
    [
        ("127.0.0.1:5000/noderr/img", ImageRef("127.0.0.1:5000", "noderr/img", "1")),
        ("ghcr.io/noderrxyz/noderr-node-os", ImageRef("ghcr.io", "noderrxyz/noderr-node-os", "1")),
        ("docker.io/noderr/img", ImageRef("registry-1.docker.io", "noderr/img", "1")),
        ("docker.io/node", ImageRef("registry-1.docker.io", "library/node", "1")),
        ("noderr/img", ImageRef("registry-1.docker.io", "noderr/img", "1")),
        ("localhost/img", ImageRef("localhost", "img", "1")),
    ],
)
def test_where_a_pushed_tag_is_asked(repository: str, ref: ImageRef) -> None:
    from noderr_deploy.images.registry import image_ref

    assert image_ref(repository, "1") == ref


def test_credentials_come_from_the_variables_else_the_docker_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from noderr_deploy.images.registry import registry_credentials

    token = base64.b64encode(f"pusher:{SECRET}".encode()).decode()
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"127.0.0.1:5999": {"auth": token}}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert registry_credentials("127.0.0.1:5999", {}) == ("pusher", SECRET)
    assert registry_credentials("127.0.0.1:6000", {}) is None
    both = {"NODERR_REGISTRY_USER": "ci", "NODERR_REGISTRY_PASSWORD": "pw"}
    assert registry_credentials("127.0.0.1:5999", both) == ("ci", "pw")


def test_publish_lookup_of_a_bad_redirect_is_a_registry_error(fresh: Stand) -> None:
    from noderr_deploy.images.registry import manifest_digest

    fresh.routes[TAG_PATH] = Answer(302, headers={"Location": "http://[::1/x"})
    ref = ImageRef(fresh.host, "noderr/noderr-node-os", "1.0.0-all")
    with pytest.raises(RegistryError, match="a URL that does not parse"):
        manifest_digest(ref, environ={}, timeout=5)


HEADER_TEXT = st.text(alphabet="http:/[]:.1@%?#aé \\x", max_size=20) | st.sampled_from(
    ["/v2/x", "http://[::1/x", "//evil.invalid/", 'Bearer realm="http://[::1"', "Basic", ""]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    status=st.sampled_from([200, 301, 302, 303, 307, 308, 401, 403, 404, 429, 500, 502]),
    location=HEADER_TEXT,
    challenge=HEADER_TEXT,
)
def test_any_status_and_headers_are_a_config_digest_or_one_registry_error(
    fresh: Stand, status: int, location: str, challenge: str
) -> None:
    headers = {"Location": location, "WWW-Authenticate": challenge}
    fresh.routes[TAG_PATH] = Answer(status, manifest(), headers)
    try:
        _, config = ask(fresh, ("pusher", SECRET))
    except RegistryError as error:
        assert "\n" not in error.message and SECRET not in error.message
    else:
        assert config == CONFIG
