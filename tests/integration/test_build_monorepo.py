"""`noderr build` of a workspace shaped like the network's monorepo, on the real engine.

The Dockerfiles copy only (no install), on the small offline base image, so every build here
takes a second or two. Pushes go to the test registry on 127.0.0.1 and to misbehaving ones
(tests/support/registry_faults.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from tests.support.containers import run_container
from tests.support.monorepo import SECRET_TEXT, SECRETS, make_monorepo
from tests.support.registry_faults import refusing_registry, silent_registry

REPO = Path(__file__).resolve().parents[2]
RUN = uuid.uuid4().hex[:8]
VERSION = "1.0.0"
CONFIG = """\
image: noderr-node-os
registry: {registry}
workspace: .
tiers:
  all:    {{beacon_tier: 0, size_budget: {budget}, packages: [core, market-data],
            dockerfile: {all_dockerfile}}}
  oracle: {{extends: all, beacon_tier: 2, size_budget: 1.5GB, packages: [ml-client, ml],
            dockerfile: docker/oracle/Dockerfile}}
  probe:  {{beacon_tier: 0, size_budget: 1GB, packages: [core, system-orchestrator,
            performance, reputation], dockerfile: docker/probe/Dockerfile,
            context: {{include: [docker/all/, "docker/*/start.sh"]}}}}
"""

runner = CliRunner()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, base_image: str) -> Path:
    return make_monorepo(tmp_path_factory.mktemp("monorepo") / "noderr-node-os", base_image)


def configure(ws: Path, name: str = "tiers.yaml", **values: str) -> Path:
    fields = {
        "registry": f"127.0.0.1:5000/mono-{RUN}",
        "budget": "1GB",
        "all_dockerfile": "docker/all/Dockerfile",
        **values,
    }
    path = ws / name
    path.write_text(CONFIG.format(**fields))
    return path


def build(config: Path, base_image: str, *args: str) -> Any:
    return runner.invoke(
        app,
        ["build", "-c", str(config), "--version", VERSION, "--network", "none",
         "--base-image", base_image, *args],
    )  # fmt: skip


@pytest.fixture
def cleanup(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    references: list[str] = []
    yield references
    for reference in references:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            docker_client.api.remove_image(reference, noprune=True)


def tags_of(result: list[dict[str, Any]]) -> list[str]:
    return [t for entry in result for t in entry["tags"]]


def test_tier_dockerfiles_build_with_their_files_at_workspace_paths(
    ws: Path, base_image: str, docker_client: docker.DockerClient, cleanup: list[str]
) -> None:
    config = configure(ws)
    result = build(config, base_image, "-t", "all", "-t", "oracle", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    cleanup.extend(tags_of(document))
    for entry in document:
        tier = entry["tier"]
        out = run_container(docker_client, entry["imageId"], ["/app/start.sh"])
        assert out.exit_code == 0 and out.stdout.strip() == f"noderr {tier} node", out.stderr
        listing = run_container(
            docker_client,
            entry["imageId"],
            ["sh", "-c", "ls -a /app /app/packages; cat /app/.npmrc"],
        ).stdout.split()
        assert {"core", "market-data", ".npmrc", "ecosystem.config.js"} <= set(listing)
        assert "auto-install-peers=true" in listing  # the token-free .npmrc, sent


def test_no_secret_of_any_case_reaches_the_image(
    ws: Path, base_image: str, docker_client: docker.DockerClient, cleanup: list[str]
) -> None:
    """The probe copies its whole context into the image; the image is searched."""
    config = configure(ws)
    result = build(config, base_image, "-t", "probe", "--json", "-q")
    assert result.exit_code == 0, result.stderr
    [entry] = json.loads(result.stdout)
    cleanup.extend(entry["tags"])
    found = run_container(docker_client, entry["imageId"], ["find", "/ctx"]).stdout.split()
    lowered = [f.casefold() for f in found]
    for secret in SECRETS:
        leaf = secret.casefold().split("/")[0]
        assert not [f for f in lowered if f.rsplit("/", 1)[-1] == leaf], secret
    grep = run_container(docker_client, entry["imageId"], ["grep", "-rl", SECRET_TEXT, "/ctx"])
    assert grep.exit_code == 1 and grep.stdout == "", grep.stdout
    for absent in ("/ctx/tiers.yaml", "/ctx/build.log", "/ctx/README.md", "/ctx/Dockerfile"):
        assert absent not in found
    assert "/ctx/packages/core/empty" in found  # empty directories kept
    assert "/ctx/docker/probe/Dockerfile" in found
    # context.include'd folders obey the same rules: their secrets stayed out too
    assert {"/ctx/docker/all/start.sh", "/ctx/docker/oracle/start.sh"} <= set(found)


def test_the_named_dockerfile_is_built_not_its_sibling(
    ws: Path, base_image: str, cleanup: list[str]
) -> None:
    (ws / "docker" / "all" / "Dockerfile.fail").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo 'the .fail file' && exit 7\n"
    )
    config = configure(ws, "fail.yaml", all_dockerfile="docker/all/Dockerfile.fail")
    result = build(config, base_image, "-t", "all", "-q")
    cleanup.extend(
        [f"127.0.0.1:5000/mono-{RUN}/noderr-node-os:{t}" for t in (f"{VERSION}-all", "latest-all")]
    )
    assert result.exit_code == 1
    assert "RUN echo 'the .fail file' && exit 7" in result.stderr.splitlines()[0]
    assert "Removing intermediate container" not in result.stderr


def test_hard_coded_from_builds_and_says_base_image_has_no_effect(
    ws: Path, base_image: str, cleanup: list[str]
) -> None:
    config = configure(ws, "prod.yaml", all_dockerfile="docker/all/Dockerfile.prod")
    result = build(config, base_image, "-t", "all", "--json")
    assert result.exit_code == 0, result.stderr
    cleanup.extend(tags_of(json.loads(result.stdout)))
    assert "tier all: base_image has no effect: " in result.stderr
    assert "Dockerfile.prod does not use the BASE_IMAGE build arg" in result.stderr


def test_save_writes_a_loadable_tarball_with_its_sha256(
    ws: Path, base_image: str, docker_client: docker.DockerClient, tmp_path: Path,
    cleanup: list[str],
) -> None:  # fmt: skip
    config = configure(ws)
    metadata = tmp_path / "build.json"
    result = build(config, base_image, "-t", "all", "--save", str(tmp_path), "--json",
                   "--metadata-file", str(metadata))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [entry] = json.loads(result.stdout)
    cleanup.extend(entry["tags"])
    tarball = tmp_path / f"noderr-node-os-{VERSION}-all.tar"
    data = tarball.read_bytes()
    assert entry["saved"] == {
        "path": str(tarball),
        "sha256": hashlib.sha256(data).hexdigest(),
        "sizeBytes": len(data),
    }
    assert json.loads(metadata.read_text()) == [entry]
    docker_client.api.remove_image(entry["tags"][0], noprune=True)
    loaded = docker_client.images.load(data)
    assert [image.id for image in loaded] == [entry["imageId"]]
    assert entry["tags"][0] in docker_client.images.get(entry["imageId"]).tags


def test_over_budget_moves_no_tag(
    ws: Path, base_image: str, docker_client: docker.DockerClient, cleanup: list[str]
) -> None:
    config = configure(ws, "tiny.yaml", budget="1kB", registry=f"127.0.0.1:5000/tiny-{RUN}")
    tags = [
        f"127.0.0.1:5000/tiny-{RUN}/noderr-node-os:{t}" for t in (f"{VERSION}-all", "latest-all")
    ]
    cleanup.extend(tags)
    before = docker_client.images.get(base_image).id
    for tag in tags:
        repository, _, name = tag.rpartition(":")
        docker_client.api.tag(before, repository, name)
    result = build(config, base_image, "-t", "all", "--push", "-q")
    assert result.exit_code == 3, result.stderr
    assert "no tag moved, nothing pushed" in result.stderr.splitlines()[0]
    assert [docker_client.images.get(tag).id for tag in tags] == [before, before]


def manifest_config(registry: str, repository: str, digest: str) -> str:
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{digest}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["config"]["digest"])


def test_pushed_manifest_is_the_built_image(ws: Path, base_image: str, cleanup: list[str]) -> None:
    namespace = f"127.0.0.1:5000/push-{RUN}"
    config = configure(ws, "push.yaml", registry=namespace)
    result = build(config, base_image, "-t", "all", "--push", "--json", "-q")
    assert result.exit_code == 0, result.stderr
    [entry] = json.loads(result.stdout)
    cleanup.extend(entry["tags"])
    assert [p["pushed"] for p in entry["pushes"]] == [True, True]
    for push in entry["pushes"]:
        config_digest = manifest_config(
            "127.0.0.1:5000", f"push-{RUN}/noderr-node-os", push["digest"]
        )
        assert config_digest == entry["imageId"]


def test_a_tag_moved_by_a_concurrent_build_is_caught(
    ws: Path, base_image: str, docker_client: docker.DockerClient, cleanup: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Another build moves the tag between noderr's tag and push: exit 1, not success."""
    from noderr_deploy.config.schema import load_config
    from noderr_deploy.errors import RegistryError
    from noderr_deploy.images import push
    from noderr_deploy.images.engine import connect
    from noderr_deploy.images.pipeline import BuildRequest, plan_request, run_build

    namespace = f"127.0.0.1:5000/race-{RUN}"
    config = load_config(configure(ws, "race.yaml", registry=namespace))
    request = BuildRequest(tiers=("all",), version=VERSION, base_image=base_image,
                           network="none", push=True)  # fmt: skip
    plans = plan_request(config, request, environ={}, clock=lambda: datetime.now(UTC))
    other = docker_client.images.get(base_image).id
    original = push.tag_image

    def tag_then_move(client_: Any, image_id: str, tags: Any) -> None:
        original(client_, image_id, tags)
        for reference in tags:  # the other build, right after noderr's tag
            repository, _, tag = reference.rpartition(":")
            docker_client.api.tag(other, repository, tag, force=True)

    class Quiet:
        @contextlib.contextmanager
        def build(self, tier: str) -> Iterator[Callable[[Any], None]]:
            yield lambda event: None

        @contextlib.contextmanager
        def push(self, reference: str) -> Iterator[Callable[[Any], None]]:
            monkeypatch.setattr(push, "tag_image", tag_then_move)
            yield lambda event: None

    outcome = run_build(plans, request, client=connect({}), progress=Quiet(), info=lambda s: None)
    cleanup.extend(plans[0].tags)
    assert isinstance(outcome.error, RegistryError)
    assert "is not the image built" in outcome.error.message
    assert "a concurrent build moved the tag" in outcome.error.message
    assert [p.digest for p in outcome.results[0].pushes] == [None, None]
    assert outcome.results[0].pushed is False


def test_a_tag_moved_in_the_registry_after_the_push_is_caught(
    ws: Path, base_image: str, docker_client: docker.DockerClient, cleanup: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Someone pushes another image to the tag between noderr's push and its check: the
    registry's manifest is asked, not the engine's records, so it is exit 1 naming both."""
    from noderr_deploy.images import push

    namespace = f"127.0.0.1:5000/moved-{RUN}"
    config = configure(ws, "moved.yaml", registry=namespace)
    other = docker_client.images.get(base_image).id
    original = push.verify_pushed

    def push_other_then_check(client_: Any, image_id: str, reference: str, **kw: Any) -> None:
        repository, _, tag = reference.rpartition(":")
        docker_client.api.tag(other, repository, f"other-{tag}", force=True)
        cleanup.append(f"{repository}:other-{tag}")
        # The other image goes to the same tag in the registry, through the engine as well.
        docker_client.api.tag(other, repository, tag, force=True)
        for chunk in docker_client.api.push(repository, tag=tag, stream=True, decode=True):
            assert "errorDetail" not in chunk, chunk
        docker_client.api.tag(image_id, repository, tag, force=True)  # locally, ours again
        original(client_, image_id, reference, **kw)

    monkeypatch.setattr(push, "verify_pushed", push_other_then_check)
    result = build(config, base_image, "-t", "all", "--push", "--json", "-q")
    assert result.exit_code == 1, result.stderr
    [entry] = json.loads(result.stdout)
    cleanup.extend(entry["tags"])
    assert [p["pushed"] for p in entry["pushes"]] == [False, False]
    reference = f"{namespace}/noderr-node-os:{VERSION}-all"
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: push of {reference}: the registry's tag {VERSION}-all"
                           f" names image {other} (manifest sha256:")  # fmt: skip
    assert line.endswith(
        f"which is not the image built {entry['imageId']}: a concurrent build moved the tag;"
        " build again"
    )


def test_two_builds_at_once_never_report_each_others_image(
    ws: Path, base_image: str, tmp_path: Path, cleanup: list[str]
) -> None:
    namespace = f"127.0.0.1:5000/twice-{RUN}"
    (ws / "docker" / "twice").mkdir(exist_ok=True)
    (ws / "docker" / "twice" / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG WHO\nRUN echo $WHO > /who\n"
    )
    config = configure(ws, "twice.yaml", registry=namespace,
                       all_dockerfile="docker/twice/Dockerfile")  # fmt: skip
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "noderr_deploy",
                "build",
                "-c",
                str(config),
                "-t",
                "all",
                "--version",
                VERSION,
                "--network",
                "none",
                "--base-image",
                base_image,
                "--build-arg",
                f"WHO={who}",
                "--push",
                "--json",
                "-q",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        )
        for who in ("first", "second")
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    cleanup.extend([f"{namespace}/noderr-node-os:{t}" for t in (f"{VERSION}-all", "latest-all")])
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode in (0, 1), stderr
        [entry] = json.loads(stdout)
        for push in entry["pushes"]:
            if push["pushed"]:  # whatever it says it pushed is its own image
                digest = manifest_config(
                    "127.0.0.1:5000", f"twice-{RUN}/noderr-node-os", push["digest"]
                )
                assert digest == entry["imageId"]
        if process.returncode == 1:
            assert "a concurrent build moved the tag" in stderr, stderr


def test_partial_push_still_writes_json_and_metadata(
    ws: Path, base_image: str, tmp_path: Path, cleanup: list[str]
) -> None:
    with refusing_registry("127.0.0.1:5000", r"^latest-") as proxy:
        namespace = f"{proxy}/partial-{RUN}"
        config = configure(ws, "partial.yaml", registry=namespace)
        metadata = tmp_path / "build.json"
        result = build(config, base_image, "-t", "all", "--push", "--json", "-q",
                       "--metadata-file", str(metadata))  # fmt: skip
    cleanup.extend([f"{namespace}/noderr-node-os:{t}" for t in (f"{VERSION}-all", "latest-all")])
    assert result.exit_code == 1, result.stderr
    [entry] = json.loads(result.stdout)
    assert json.loads(metadata.read_text()) == [entry]
    first, second = entry["pushes"]
    assert first["pushed"] is True and first["digest"].startswith("sha256:")
    assert second == {
        "tag": f"{namespace}/noderr-node-os:latest-all",
        "pushed": False,
        "digest": None,
    }
    assert entry["pushed"] is False
    assert result.stderr.splitlines()[0].startswith(
        f"error: push of {namespace}/noderr-node-os:latest-all failed: "
    )


def test_a_silent_registry_is_reported_as_the_registry(
    ws: Path, base_image: str, cleanup: list[str]
) -> None:
    with silent_registry() as address:
        config = configure(ws, "silent.yaml", registry=f"{address}/noderr")
        result = build(
            config, base_image, "-t", "all", "--push", "--push-timeout", "3", "--json", "-q"
        )
    cleanup.extend(
        [f"{address}/noderr/noderr-node-os:{t}" for t in (f"{VERSION}-all", "latest-all")]
    )
    assert result.exit_code == 1, result.stderr
    assert result.stderr == (
        f"error: registry {address} stopped answering while pushing"
        f" {address}/noderr/noderr-node-os:{VERSION}-all (nothing for 3 s; --push-timeout sets"
        " the limit)\n"
    )
    [entry] = json.loads(result.stdout)
    assert [p["pushed"] for p in entry["pushes"]] == [False, False]


def test_a_missing_credential_helper_is_one_error_line(
    ws: Path, base_image: str, tmp_path: Path, cleanup: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text('{"credsStore": "noderr-missing-helper"}\n')
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    namespace = f"127.0.0.1:5000/creds-{RUN}"
    config = configure(ws, "creds.yaml", registry=namespace)
    result = build(config, base_image, "-t", "all", "--push", "-q")
    cleanup.extend([f"{namespace}/noderr-node-os:{t}" for t in (f"{VERSION}-all", "latest-all")])
    assert result.exit_code == 1, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    # The SDK reads every credential before a build, so the build is what cannot start.
    assert result.stderr == (
        "error: tier all: cannot start the build: docker credential helper:"
        " docker-credential-noderr-missing-helper not installed or not available in PATH"
        " (credsStore or credHelpers of the docker config, DOCKER_CONFIG)\n"
    )
    assert "internal error" not in result.stderr
