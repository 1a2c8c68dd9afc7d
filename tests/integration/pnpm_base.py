"""The offline test base image plus pnpm 8: what the shipped Dockerfile's builder stage needs.

Production images start from ``node:20-alpine`` and activate pnpm through corepack, which
downloads it. The tests cannot download anything, so they derive an image from the offline
base (``base_image`` fixture: busybox, node, tini) with the npm-installed ``pnpm`` package of
this repository copied in. The Dockerfile uses a base image's own pnpm when it has one; every
other step (install, filtered build, production reinstall) runs as in production.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import docker
import docker.errors

REPO_ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "noderr-test/base-pnpm"

_DOCKERFILE = """\
ARG BASE
FROM ${BASE}
COPY pnpm /usr/local/lib/node_modules/pnpm
RUN ln -s ../lib/node_modules/pnpm/bin/pnpm.cjs /usr/local/bin/pnpm && pnpm --version
"""


def pnpm_package() -> Path | None:
    """The npm-installed pnpm 8 package: NODERR_PNPM_DIR, else ``node_modules/pnpm``."""
    override = os.environ.get("NODERR_PNPM_DIR")
    candidate = Path(override) if override else REPO_ROOT / "node_modules" / "pnpm"
    return candidate if (candidate / "bin" / "pnpm.cjs").is_file() else None


def _version(package: Path) -> str:
    return str(json.loads((package / "package.json").read_text())["version"])


def build_pnpm_base(client: docker.DockerClient, base: str, package: Path) -> str:
    """Tag of ``base`` + ``package`` (built unless it exists). Kept between runs, like base."""
    base_id = client.images.get(base).id
    digest = hashlib.sha256(f"{base_id}\0{_version(package)}\0{_DOCKERFILE}".encode())
    tag = f"{REPOSITORY}:{digest.hexdigest()[:16]}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = _DOCKERFILE.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        tar.add(str(package), arcname="pnpm")
    buffer.seek(0)
    for chunk in client.api.build(
        fileobj=buffer,
        custom_context=True,
        tag=tag,
        buildargs={"BASE": base},
        rm=True,
        forcerm=True,
        network_mode="none",
        decode=True,
    ):
        if "errorDetail" in chunk:
            raise RuntimeError(f"building {tag} failed: {chunk['errorDetail'].get('message')}")
    client.images.get(tag)
    return tag


def remove_descendants(client: docker.DockerClient, image: str) -> int:
    """Remove every image built on ``image`` (children first), keeping ``image`` itself.

    That is what the tests and the benchmark built on the pnpm base: the tier images and every
    intermediate image of the classic builder's layer cache. Returns how many were removed.
    """
    root = client.images.get(image).id
    children: dict[str, list[str]] = {}
    for entry in client.api.images(all=True):
        children.setdefault(entry.get("ParentId") or "", []).append(entry["Id"])
    order: list[str] = []
    pending = [(root, False)]
    while pending:  # iterative post-order: a child is removed before its parent
        current, expanded = pending.pop()
        if expanded:
            order.append(current)
            continue
        pending.append((current, True))
        pending.extend((child, False) for child in children.get(current, []))
    removed = 0
    for image_id in order:
        if image_id == root:
            continue
        try:
            # noprune: never let the engine delete untagged ancestors beyond ``image``.
            client.api.remove_image(image_id, force=True, noprune=True)
            removed += 1
        except docker.errors.NotFound:
            pass  # gone with a child already
        except docker.errors.APIError:
            pass  # in use by someone's running container: leave it
    return removed
