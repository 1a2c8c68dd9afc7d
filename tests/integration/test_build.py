"""`noderr build` against the real Docker engine and the real local registry.

One build of all three tiers from a copy of the example workspace (with a `.git`, `node_modules`
and `.env` planted in it), pushed to the test registry, is shared by the module; the other
tests rebuild from the layer cache. Every image built on the pnpm base is removed at the end.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from tests.support.auth_registry import PASSWORD, USER, AuthRegistryError, auth_registry
from tests.support.components import free_port, require
from tests.support.containers import run_container
from tests.support.pnpm_base import build_pnpm_base, pnpm_package, remove_descendants

REPO = Path(__file__).resolve().parents[2]
TIERS = {
    "all": ["types", "utils", "telemetry", "market-data", "exchanges", "data-connectors"],
    "oracle": ["ml", "quant-research", "market-intel", "strategy", "capital-ai"],
    "guardian": [
        "risk-engine",
        "floor-engine",
        "execution",
        "safety-control",
        "integration-layer",
        "system-orchestrator",
    ],
}
PACKAGES = {
    "all": TIERS["all"],
    "oracle": TIERS["all"] + TIERS["oracle"],
    "guardian": TIERS["all"] + TIERS["oracle"] + TIERS["guardian"],
}
VERSION = "1.0.0"
CONFIG = """\
image: {image}
registry: {registry}
workspace: ws
dockerfile: {dockerfile}
context: {{include: [build-package.cjs]}}
tiers:
  all:      {{beacon_tier: 0, size_budget: {budget}, packages: [{all}],
              labels: {{xyz.noderr.test: "yes"}}}}
  oracle:   {{extends: all, beacon_tier: 2, size_budget: 1.5GB, packages: [{oracle}]}}
  guardian: {{extends: oracle, beacon_tier: 1, size_budget: 2.5GB, packages: [{guardian}]}}
"""
# Inspect a built image from the inside: what is installed, who runs, what PID 1 is, and
# whether every package of the tier loads in node.
PROBE = """
const fs = require('fs');
const names = process.env.NODERR_PACKAGES.split(' ');
console.log(JSON.stringify({
  packages: fs.readdirSync('/app/packages').sort(),
  links: fs.readdirSync('/app/node_modules/@noderr').sort(),
  loaded: names.map((n) => require('@noderr/' + n).name),
  uid: process.getuid(),
  gid: process.getgid(),
  pid1: fs.readFileSync('/proc/1/cmdline', 'utf8').split('\\0').filter(Boolean),
  npm: fs.existsSync('/usr/local/lib/node_modules/npm'),
}));
"""

runner = CliRunner()


@pytest.fixture(scope="module")
def pnpm_base(docker_client: docker.DockerClient, base_image: str) -> Iterator[str]:
    package = pnpm_package()
    if package is None:
        require("pnpm 8", "node_modules/pnpm not found: run `npm ci` (package.json pins pnpm)")
    tag = build_pnpm_base(docker_client, base_image, package)
    yield tag
    remove_descendants(docker_client, tag)


def discard(client: docker.DockerClient, reference: str) -> None:
    """Remove a tag this test made; already gone is fine (a cleanup must not fail a test)."""
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_image(reference, noprune=True)


# Local tags of this run only: two runs on one engine (two checkouts) must not remove each
# other's images.
RUN = uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def namespace(registry: str) -> str:
    """A registry namespace of this run only, so reruns never see stale tags."""
    return f"{registry}/noderr-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example workspace and the shipped Dockerfile, plus what must never be sent."""
    root = tmp_path_factory.mktemp("project")
    ws = root / "ws"
    shutil.copytree(REPO / "examples" / "workspace", ws)
    shutil.copytree(REPO / "dockerfiles", root / "dockerfiles")
    (ws / ".git").mkdir()
    (ws / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (ws / "node_modules" / "left-pad").mkdir(parents=True)
    (ws / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1;\n")
    (ws / ".env").write_text("API_KEY=do-not-ship\n")
    types = ws / "packages" / "types"
    (types / "node_modules" / "stale").mkdir(parents=True)
    (types / "node_modules" / "stale" / "index.js").write_text("stale\n")
    (types / ".env.local").write_text("SECRET=do-not-ship\n")
    (types / "deploy.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    (types / "dist").mkdir()
    (types / "dist" / "stale.js").write_text("ignored by .dockerignore\n")
    return root


def write_config(project: Path, name: str, **values: str) -> Path:
    fields = {
        "image": "noderr-node-os",
        "registry": f"127.0.0.1:5000/unused-{RUN}",
        "dockerfile": "dockerfiles/Dockerfile",
        "budget": "500MB",
        **{tier: ", ".join(packages) for tier, packages in TIERS.items()},
        **values,
    }
    path = project / name
    path.write_text(CONFIG.format(**fields))
    return path


def build(config: Path, *args: str) -> Any:
    return runner.invoke(
        app, ["build", "-c", str(config), "--version", VERSION, "--network", "none", *args]
    )


@pytest.fixture(scope="module")
def built(
    project: Path, pnpm_base: str, namespace: str, docker_client: docker.DockerClient
) -> Iterator[list[dict[str, Any]]]:
    """All three tiers built and pushed once, with --json and --metadata-file."""
    config = write_config(project, "tiers.yaml", registry=namespace)
    metadata = project / "build.json"
    result = build(
        config, "--all", "--base-image", pnpm_base, "--push", "--json",
        "--metadata-file", str(metadata),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert json.loads(metadata.read_text()) == document
    yield document
    for tag in [t for entry in document for t in entry["tags"]]:
        discard(docker_client, tag)


def test_result_lists_every_tier_in_extends_order(built: list[dict[str, Any]]) -> None:
    assert [entry["tier"] for entry in built] == ["all", "oracle", "guardian"]
    for entry in built:
        assert set(entry) == {
            "tier", "imageId", "tags", "sizeBytes", "budgetBytes", "withinBudget",
            "durationSeconds", "pushed", "digest", "pushes", "saved",
        }  # fmt: skip
        assert [p["pushed"] for p in entry["pushes"]] == [True, True]
        assert entry["pushes"][0]["digest"] == entry["digest"]
        assert entry["withinBudget"] is (entry["sizeBytes"] <= entry["budgetBytes"]) is True
        assert entry["pushed"] is True
        assert entry["digest"].startswith("sha256:")


def test_both_tags_point_at_the_built_image(
    built: list[dict[str, Any]], namespace: str, docker_client: docker.DockerClient
) -> None:
    for entry in built:
        tier = entry["tier"]
        assert entry["tags"] == [
            f"{namespace}/noderr-node-os:{VERSION}-{tier}",
            f"{namespace}/noderr-node-os:latest-{tier}",
        ]
        image = docker_client.images.get(entry["imageId"])
        assert sorted(image.tags) == sorted(entry["tags"])
        assert image.attrs["Size"] == entry["sizeBytes"]


def test_image_config_user_tini_healthcheck_labels(
    built: list[dict[str, Any]], docker_client: docker.DockerClient
) -> None:
    for entry in built:
        tier = entry["tier"]
        config = docker_client.images.get(entry["imageId"]).attrs["Config"]
        assert config["User"] == "1001:1001"
        assert config["Entrypoint"] == ["/sbin/tini", "--"]
        assert config["Cmd"] == ["node", "/app/start.cjs"]
        assert config["Healthcheck"]["Test"] == ["CMD", "node", "/app/healthcheck.cjs"]
        labels = config["Labels"]
        assert labels["xyz.noderr.tier"] == tier
        assert labels["xyz.noderr.packages"] == ",".join(PACKAGES[tier])
        beacon_tier = {"all": "0", "oracle": "2", "guardian": "1"}[tier]
        assert labels["xyz.noderr.beacon-tier"] == beacon_tier
        assert labels["xyz.noderr.test"] == "yes"  # the tier's labels, inherited
        assert labels["org.opencontainers.image.title"] == f"noderr-node-os-{tier}"
        assert labels["org.opencontainers.image.version"] == VERSION
        assert labels["org.opencontainers.image.vendor"] == "Noderr"
        assert labels["org.opencontainers.image.created"].endswith("Z")


def test_each_image_holds_exactly_its_packages_and_they_load(
    built: list[dict[str, Any]], docker_client: docker.DockerClient
) -> None:
    for entry in built:
        tier = entry["tier"]
        result = run_container(docker_client, entry["imageId"], ["node", "-e", PROBE])
        assert result.exit_code == 0, result.stderr
        facts = json.loads(result.stdout)
        expected = sorted(PACKAGES[tier])
        assert len(expected) == {"all": 6, "oracle": 11, "guardian": 17}[tier]
        assert facts["packages"] == expected
        assert facts["links"] == expected
        assert facts["loaded"] == [f"@noderr/{name}" for name in PACKAGES[tier]]
        assert (facts["uid"], facts["gid"]) == (1001, 1001)
        assert facts["pid1"][:2] == ["/sbin/tini", "--"]
        assert facts["npm"] is False  # no package manager in the runtime image


def test_healthcheck_passes_in_a_running_node(
    built: list[dict[str, Any]], docker_client: docker.DockerClient
) -> None:
    guardian = built[-1]["imageId"]
    container = docker_client.containers.run(guardian, detach=True, network_mode="none")
    try:
        code = 1
        for _ in range(40):  # the node listens within a second or two
            code, _output = container.exec_run(["node", "/app/healthcheck.cjs"])
            if code == 0:
                break
            container.reload()
            assert container.status == "running", container.logs().decode()
            time.sleep(0.25)
        assert code == 0
        assert b"17 packages loaded" in container.logs()
    finally:
        container.remove(force=True)


def test_pushed_tags_and_digests_match_the_registry(
    built: list[dict[str, Any]], namespace: str
) -> None:
    address, _, path = namespace.partition("/")
    name = f"{path}/noderr-node-os"
    with urllib.request.urlopen(f"http://{address}/v2/{name}/tags/list", timeout=10) as response:
        listed = set(json.load(response)["tags"])
    for entry in built:
        for reference in entry["tags"]:
            tag = reference.rpartition(":")[2]
            assert tag in listed
            request = urllib.request.Request(
                f"http://{address}/v2/{name}/manifests/{tag}",
                method="HEAD",
                headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.headers["Docker-Content-Digest"] == entry["digest"]


def test_context_that_reached_the_engine(
    project: Path, pnpm_base: str, docker_client: docker.DockerClient
) -> None:
    """A probe Dockerfile copies the whole context into an image: nothing secret is in it."""
    probe = project / "probe"
    probe.mkdir(exist_ok=True)
    (probe / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . /ctx\n")
    config = write_config(project, "probe.yaml", dockerfile="probe/Dockerfile", image="probe")
    result = build(config, "-t", "all", "--base-image", pnpm_base, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    entry = json.loads(result.stdout)[0]
    try:
        found = run_container(docker_client, entry["imageId"], ["find", "/ctx", "-type", "f"])
        files = sorted(line.removeprefix("/ctx/") for line in found.stdout.split())
        assert files, found.stderr
        for forbidden in (".git", "node_modules", ".env", "deploy.key", "dist/stale.js"):
            assert not [f for f in files if forbidden in f], forbidden
        assert {"package.json", "pnpm-lock.yaml", ".noderr/Dockerfile"} <= set(files)
        assert {f.split("/")[1] for f in files if f.startswith("packages/")} == set(TIERS["all"])
    finally:
        for tag in entry["tags"]:
            discard(docker_client, tag)


def test_over_budget_is_exit_3_with_the_largest_layers(project: Path, pnpm_base: str) -> None:
    config = write_config(project, "tiny.yaml", budget="1kB", registry=f"127.0.0.1:5000/tiny-{RUN}")
    result = build(config, "-t", "all", "--base-image", pnpm_base, "--push", "-q")
    assert result.exit_code == 3, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "error: over the size budget: all (no tag moved, nothing pushed;"
        " --allow-over-budget to accept)"
    )
    assert lines[1].startswith("  tier all: image ") and "> budget 1.00 kB (1000 bytes)" in lines[1]
    assert lines[2] == "  5 largest layers:"
    assert len(lines) == 8
    assert any("COPY dir:" in line or "COPY --from" in line for line in lines[3:])
    assert "all" in result.stdout and "NO" in result.stdout  # the summary still shows it

    allowed = build(config, "-t", "all", "--base-image", pnpm_base, "--allow-over-budget", "-q")
    assert allowed.exit_code == 0, allowed.stderr
    assert "is over its budget 1.00 kB (allowed by --allow-over-budget)" in allowed.stderr


def test_failing_step_is_exit_1_and_moves_no_tag(
    project: Path, pnpm_base: str, docker_client: docker.DockerClient
) -> None:
    failing = project / "failing"
    failing.mkdir(exist_ok=True)
    (failing / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo 'about to fail' && exit 3\n"
    )
    config = write_config(
        project, "failing.yaml", dockerfile="failing/Dockerfile", image="failing",
        registry=f"127.0.0.1:5000/fail-{RUN}",
    )  # fmt: skip
    repository = f"127.0.0.1:5000/fail-{RUN}/failing"
    tags = [f"{repository}:{VERSION}-all", f"{repository}:latest-all"]
    before = docker_client.images.get(pnpm_base).id
    for tag in tags:  # the tags point at a good image before the failed build
        repository, _, name = tag.rpartition(":")
        docker_client.api.tag(before, repository, name)
    try:
        result = build(config, "-t", "all", "--base-image", pnpm_base)
        assert result.exit_code == 1
        lines = result.stderr.splitlines()
        # 12 steps: the Dockerfile's 3, then one LABEL per label the builder adds.
        assert "error: tier all: step 3/12 failed: RUN echo 'about to fail' && exit 3" in lines
        assert (
            "  error: The command '/bin/sh -c echo 'about to fail' && exit 3'"
            " returned a non-zero code: 3"
        ) in lines
        assert "    about to fail" in lines  # the step's last log lines
        assert [docker_client.images.get(tag).id for tag in tags] == [before, before]
    finally:
        for tag in tags:
            discard(docker_client, tag)


def test_push_to_a_dead_registry_is_exit_1(
    project: Path, pnpm_base: str, docker_client: docker.DockerClient
) -> None:
    dead = f"127.0.0.1:{free_port()}/noderr"
    config = write_config(project, "dead.yaml", registry=dead)
    result = build(config, "-t", "all", "--base-image", pnpm_base, "--push", "-q")
    try:
        assert result.exit_code == 1
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"error: push of {dead}/noderr-node-os:{VERSION}-all failed: ")
        assert "connection refused" in first
        # The results are still shown: built, not pushed.
        assert "all" in result.stdout and f"{dead}/noderr-node-os:{VERSION}-all" in result.stdout
    finally:
        for tier_tag in (f"{VERSION}-all", "latest-all"):
            discard(docker_client, f"{dead}/noderr-node-os:{tier_tag}")


# -- a registry that wants credentials ------------------------------------------------------


@pytest.fixture(scope="module")
def locked_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with auth_registry(tmp_path_factory.mktemp("auth-registry")) as address:
            yield address
    except AuthRegistryError as error:
        require("registry with authentication", str(error))


def registry_tags(address: str, repository: str) -> list[str]:
    """The tags of ``repository``, asked with the test credentials."""
    request = urllib.request.Request(f"http://{address}/v2/{repository}/tags/list")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return sorted(json.load(response)["tags"])


@pytest.fixture
def locked_project(
    project: Path, locked_registry: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """A tiers.yaml pushing to the registry with credentials, and its namespace."""
    namespace = f"{locked_registry}/noderr-{RUN}"
    monkeypatch.setenv("NODERR_REGISTRY_USER", USER)
    return write_config(project, "locked.yaml", registry=namespace), namespace


@pytest.mark.parametrize("password", [PASSWORD, "wrong-password"])
def test_push_with_credentials_from_the_environment(
    locked_project: tuple[Path, str],
    pnpm_base: str,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
    password: str,
) -> None:
    config, namespace = locked_project
    locked_registry = namespace.split("/")[0]
    monkeypatch.setenv("NODERR_REGISTRY_PASSWORD", password)
    result = build(config, "-t", "all", "--base-image", pnpm_base, "--push", "-q", "--json")
    try:
        assert password not in result.stdout + result.stderr  # never echoed
        if password == PASSWORD:
            assert result.exit_code == 0, result.stderr
            [entry] = json.loads(result.stdout)
            assert entry["pushed"] is True and entry["digest"].startswith("sha256:")
            assert registry_tags(locked_registry, f"noderr-{RUN}/noderr-node-os") == [
                f"{VERSION}-all",
                "latest-all",
            ]
        else:
            assert result.exit_code == 1
            [entry] = json.loads(result.stdout)  # written even though the push failed
            assert [p["pushed"] for p in entry["pushes"]] == [False, False]
            assert result.stderr.splitlines()[0] == (
                f"error: push of {namespace}/noderr-node-os:{VERSION}-all failed:"
                " unauthorized: authentication required"
            )
    finally:
        for tier_tag in (f"{VERSION}-all", "latest-all"):
            discard(docker_client, f"{namespace}/noderr-node-os:{tier_tag}")


def test_push_and_check_with_credentials_from_the_docker_config(
    locked_project: tuple[Path, str],
    pnpm_base: str,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """No NODERR_REGISTRY_* variables: the push and the registry check after it both take the
    htpasswd registry's credentials from the docker config (DOCKER_CONFIG)."""
    config, namespace = locked_project
    locked_registry = namespace.split("/")[0]
    monkeypatch.delenv("NODERR_REGISTRY_USER")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {locked_registry: {"auth": token}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    result = build(config, "-t", "all", "--base-image", pnpm_base, "--push", "-q", "--json")
    try:
        assert result.exit_code == 0, result.stderr
        assert PASSWORD not in result.stdout + result.stderr
        [entry] = json.loads(result.stdout)
        assert [p["pushed"] for p in entry["pushes"]] == [True, True]
    finally:
        for tier_tag in (f"{VERSION}-all", "latest-all"):
            discard(docker_client, f"{namespace}/noderr-node-os:{tier_tag}")
