"""``dev_dependencies: auto|always|never``: devDependencies follow when the image builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from noderr_deploy.config.dockerlines import build_step
from noderr_deploy.config.schema import load_config
from noderr_deploy.errors import ConfigError
from tests.config.test_workspace import monorepo

BUILDS = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . .\nRUN pnpm install && \\\n    pnpm -r build\n"
COPIES = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . .\nRUN pnpm install --prod\n"


@pytest.mark.parametrize(
    "run",
    [
        "RUN pnpm -r build",
        "RUN npm run build",
        "RUN pnpm --filter @noderr/core build",
        'RUN ["pnpm", "build"]',
        "RUN corepack enable && yarn build",
        "RUN npx tsc -p tsconfig.json",
        "RUN turbo run build",
        "RUN pnpm install \\\n  # a comment inside\n  && pnpm build",
    ],
)
def test_build_steps(run: str) -> None:
    assert build_step(f"FROM x\n{run}\n") is not None


@pytest.mark.parametrize(
    "run",
    [
        "RUN pnpm install --frozen-lockfile",
        "RUN apk add build-base",
        "RUN echo build",
        "RUN yarn build-storybook",
        "COPY build /build",
        "# RUN pnpm build",
    ],
)
def test_not_build_steps(run: str) -> None:
    assert build_step(f"FROM x\n{run}\n") is None


def project(tmp_path: Path, tiers: str, top: str = "") -> Path:
    monorepo(tmp_path / "ws")
    (tmp_path / "builds").write_text(BUILDS)
    (tmp_path / "copies").write_text(COPIES)
    path = tmp_path / "tiers.yaml"
    path.write_text(f"workspace: ws\ndockerfile: copies\n{top}tiers:\n{tiers}")
    return path


TIERS = """\
  probe: {beacon_tier: 0, size_budget: 1GB, packages: [system-orchestrator]}
  built: {beacon_tier: 0, size_budget: 1GB, packages: [system-orchestrator], dockerfile: builds}
  never: {extends: built, dev_dependencies: never}
  always: {extends: probe, dev_dependencies: always}
  child: {extends: always}
"""
PLAIN = ("system-orchestrator", "performance", "reputation")
DEV = ("system-orchestrator", "core", "ml", "ml-client", "performance", "reputation")


def test_auto_follows_when_the_dockerfile_builds_and_settings_inherit(tmp_path: Path) -> None:
    config = load_config(project(tmp_path, TIERS))
    found = {t.name: (t.dev_dependencies, t.follows_dev, t.closure) for t in config.tiers}
    assert found == {
        "probe": ("auto", False, PLAIN),
        "built": ("auto", True, DEV),
        "never": ("never", False, PLAIN),
        "always": ("always", True, DEV),
        "child": ("always", True, DEV),
    }
    assert config.tier("built").dependency_of["ml"] == "system-orchestrator"


@pytest.mark.parametrize(("top", "follows"), [("always", True), ("never", False)])
def test_the_top_level_setting_is_the_default(tmp_path: Path, top: str, follows: bool) -> None:
    config = load_config(project(tmp_path, TIERS, f"dev_dependencies: {top}\n"))
    assert config.tier("probe").follows_dev is follows
    assert config.tier("built").follows_dev is follows
    assert config.tier("never").follows_dev is False  # a tier's own setting wins


@pytest.mark.parametrize(
    ("top", "tier", "where"),
    [("dev_dependencies: sometimes\n", "", "3:19: dev_dependencies"),
     ("", ", dev_dependencies: true", "4:96: tiers.probe.dev_dependencies")],
)  # fmt: skip
def test_a_bad_setting_is_file_line_col(tmp_path: Path, top: str, tier: str, where: str) -> None:
    tiers = TIERS.replace(
        "packages: [system-orchestrator]}", f"packages: [system-orchestrator]{tier}}}", 1
    )
    path = project(tmp_path, tiers, top)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    line = caught.value.details[0]  # (the tiers extending the bad one are said after it)
    assert line.startswith(f"{path}:{where}: Input should be 'auto', 'always' or 'never'")
