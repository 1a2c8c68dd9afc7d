"""A workspace shaped like the network's monorepo (Noderrxyz/noderr-node-os), for build tests.

Per-tier ``docker/<tier>/`` folders whose Dockerfiles copy ``start.sh`` by workspace path, a
root ``Dockerfile``, a ``Dockerfile.prod`` with a hard-coded ``FROM``, packages depending on
each other through ``workspace:*``, a token-free root ``.npmrc`` and a token-bearing one (left
out by ``.dockerignore``), and every class of secret, in upper- and mixed-case names, at the
root, beside the Dockerfiles and inside a package.

The Dockerfiles only copy (no install): what they test is the context, and they must build in
seconds on the offline test base image.
"""

from __future__ import annotations

import json
from pathlib import Path

# package -> its workspace dependencies (as in the network: market-data needs core, ml needs
# ml-client, system-orchestrator needs performance and reputation)
PACKAGES = {
    "core": [],
    "market-data": ["core"],
    "ml-client": [],
    "ml": ["ml-client"],
    "performance": [],
    "reputation": [],
    "system-orchestrator": ["performance", "reputation"],
}
SECRETS = (
    ".ENV",
    ".Env.Production",
    "Id_Rsa",
    "ID_ED25519.PUB",
    "server.PEM",
    "tls.Key",
    "bundle.P12",
    "legacy.PfX",
    ".NETRC",
    ".Git-Credentials",
    "gcp-Credentials.JSON",
    ".AWS/credentials",
)
SECRET_TEXT = "do-not-ship-"
TOKEN_FREE_NPMRC = "@noderr:registry=http://127.0.0.1:9/\nauto-install-peers=true\n"
TOKEN_NPMRC = "//registry.npmjs.org/:_authToken=npm_SECRETSECRETSECRET\n"

TIER_DOCKERFILE = """\
# docker/{tier}/Dockerfile: as the network writes them, copying by workspace path
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
WORKDIR /app
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY .npmrc* ./
COPY tsconfig.json ./
{copies}
COPY docker/{tier}/start.sh /app/start.sh
COPY docker/{tier}/ecosystem.config.js /app/
CMD ["/app/start.sh"]
"""
PROD_DOCKERFILE = """\
FROM {base}
WORKDIR /app
COPY package.json ./
COPY packages/core ./packages/core
COPY docker/all/start.sh /app/start.sh
"""
ROOT_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
WORKDIR /app
COPY package.json pnpm-workspace.yaml ./
COPY packages/core ./packages/core
"""
PROBE_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY . /ctx
"""


def _plant_secrets(directory: Path) -> None:
    for name in SECRETS:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{SECRET_TEXT}{name}\n")


def make_monorepo(root: Path, base_image: str = "noderr-test/base:unset") -> Path:
    """Write the workspace under ``root`` (returned); ``base_image`` is the hard-coded FROM."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text('{"name": "noderr-node-os", "private": true}\n')
    (root / "pnpm-lock.yaml").write_text("lockfileVersion: '6.0'\n")
    (root / "pnpm-workspace.yaml").write_text("packages:\n  - 'packages/*'\n")
    (root / "tsconfig.json").write_text('{"compilerOptions": {}}\n')
    (root / ".npmrc").write_text(TOKEN_FREE_NPMRC)
    (root / ".dockerignore").write_text("**/*.log\npackages/ml/.npmrc\n")
    (root / "tiers.yaml").write_text("# written by the tests\n")
    (root / "build.log").write_text("a log beside the workspace files\n")
    (root / "README.md").write_text("not needed in any image\n")
    (root / "Dockerfile").write_text(ROOT_DOCKERFILE)
    _plant_secrets(root)
    for name, deps in PACKAGES.items():
        package = root / "packages" / name
        (package / "src").mkdir(parents=True)
        (package / "src" / "index.js").write_text(f"module.exports = '{name}';\n")
        (package / "empty").mkdir()
        (package / "debug.log").write_text("ignored\n")
        manifest = {
            "name": f"@noderr/{name}",
            "version": "0.1.0",
            "dependencies": {f"@noderr/{d}": "workspace:*" for d in deps},
        }
        (package / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    _plant_secrets(root / "packages" / "core")
    (root / "packages" / "ml" / ".npmrc").write_text(TOKEN_NPMRC)
    tiers = {
        "all": ["core", "market-data"],
        "oracle": ["core", "market-data", "ml-client", "ml"],
    }
    for tier, packages in tiers.items():
        folder = root / "docker" / tier
        folder.mkdir(parents=True)
        copies = "\n".join(f"COPY packages/{p} ./packages/{p}" for p in packages)
        (folder / "Dockerfile").write_text(TIER_DOCKERFILE.format(tier=tier, copies=copies))
        start = folder / "start.sh"
        start.write_text(f"#!/bin/sh\necho 'noderr {tier} node'\n")
        start.chmod(0o755)
        (folder / "ecosystem.config.js").write_text("module.exports = {apps: []};\n")
        _plant_secrets(folder)
    (root / "docker" / "all" / "Dockerfile.prod").write_text(
        PROD_DOCKERFILE.format(base=base_image)
    )
    (root / "docker" / "probe").mkdir()
    (root / "docker" / "probe" / "Dockerfile").write_text(PROBE_DOCKERFILE)
    return root
