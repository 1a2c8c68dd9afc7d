"""Build-context assembly: what is sent, what never is, and .dockerignore as Docker reads it."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from noderr_deploy.errors import ConfigError
from noderr_deploy.images.context import assemble_context
from noderr_deploy.images.ignore import DockerIgnore, parse_dockerignore
from noderr_deploy.images.secrets import never_sent

DOCKERFILE_PATH = ".noderr/Dockerfile"

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workspace"
DOCKERFILE = Path(__file__).resolve().parents[2] / "dockerfiles" / "Dockerfile"


def ignore(text: str) -> DockerIgnore:
    return DockerIgnore(tuple(parse_dockerignore(text)))


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        ("*.md", "README.md", True),
        ("*.md", "docs/README.md", False),  # '*' does not cross '/'
        ("**/*.md", "docs/deep/README.md", True),
        ("**/*.md", "README.md", True),  # '**/' may match no directory
        ("docs", "docs/a/b.txt", True),  # a directory pattern excludes what is under it
        ("/docs", "docs/a.txt", True),  # a leading '/' is the context root
        ("./docs/", "docs/a.txt", True),  # cleaned like filepath.Clean
        ("docs/**", "docs/a/b.txt", True),
        ("docs/**", "docs", False),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[a-c]x", "bx", True),
        ("[a-c]x", "dx", False),
        ("*.md\n!README.md", "README.md", False),
        ("*.md\n!README.md", "NOTES.md", True),
        ("!README.md\n*.md", "README.md", True),  # the last matching pattern wins
        ("docs\n!docs/keep.txt", "docs/keep.txt", False),
        ("docs\n!docs/keep.txt", "docs/other.txt", True),
        ("# comment\n\n  *.log  ", "x.log", True),
        ("# *.log", "x.log", False),
        (r"\#x", "#x", True),
        ("a+b(c)", "a+b(c)", True),  # regex metacharacters are literal
        ("**", "anything/at/all", True),
        ("packages/*/dist", "packages/types/dist/index.js", True),
        ("packages/*/dist", "packages/types/src/dist.js", False),
    ],
)
def test_dockerignore_semantics(patterns: str, path: str, excluded: bool) -> None:
    assert ignore(patterns).excludes(path) is excluded


def test_dockerignore_reads_a_missing_file_as_empty(tmp_path: Path) -> None:
    assert DockerIgnore.read(tmp_path / ".dockerignore").excludes("a") is False


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        (".git", False),
        ("node_modules", False),
        (".env", False),
        (".env.production", False),
        (".envrc", False),
        ("server.pem", False),
        ("tls.key", False),
        ("id_rsa", False),
        ("id_ed25519.pub", False),
        ("bundle.p12", False),
        ("package.json", True),
        ("environment.ts", True),
        ("keys.ts", True),
    ],
)
def test_never_sent(name: str, sent: bool) -> None:
    assert (never_sent(name) is None) is sent


def make_workspace(root: Path, packages: dict[str, dict[str, str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text('{"private": true}\n')
    (root / "pnpm-lock.yaml").write_text("lockfileVersion: '6.0'\n")
    (root / "pnpm-workspace.yaml").write_text("packages: ['packages/*']\n")
    for name, files in packages.items():
        for relative, text in {"package.json": "{}", **files}.items():
            path = root / "packages" / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return root


def dockerfile(tmp_path: Path) -> Path:
    directory = tmp_path / "df"
    directory.mkdir()
    (directory / "Dockerfile").write_text("FROM scratch\n")
    (directory / "start.cjs").write_text("// entry\n")
    (directory / ".env").write_text("TOKEN=secret\n")
    return directory / "Dockerfile"


def test_context_holds_root_files_tier_packages_and_the_dockerfile(tmp_path: Path) -> None:
    ws = make_workspace(
        tmp_path / "ws",
        {"types": {"src/index.js": "x"}, "utils": {"src/index.js": "y"}, "ml": {"a.js": "z"}},
    )
    (ws / "docs").mkdir()
    (ws / "docs" / "guide.md").write_text("root directories are not sent")
    context = assemble_context(ws, ["types", "utils"], dockerfile(tmp_path))
    assert context.paths == [
        ".noderr/Dockerfile",
        ".noderr/start.cjs",
        "package.json",
        "packages/types/package.json",
        "packages/types/src/index.js",
        "packages/utils/package.json",
        "packages/utils/src/index.js",
        "pnpm-lock.yaml",
        "pnpm-workspace.yaml",
    ]
    assert context.dockerfile == DOCKERFILE_PATH
    assert [(e.path, e.reason) for e in context.excluded] == [
        (".noderr/.env", "matches .env* (secrets are never sent)")
    ]


def test_secrets_and_vcs_are_never_sent_even_if_dockerignore_reincludes_them(
    tmp_path: Path,
) -> None:
    ws = make_workspace(tmp_path / "ws", {"types": {"src/index.js": "x"}})
    (ws / ".env").write_text("API_KEY=secret\n")
    (ws / ".dockerignore").write_text("!.env\n!**/node_modules\n")
    pkg = ws / "packages" / "types"
    (pkg / "node_modules" / "dep").mkdir(parents=True)
    (pkg / "node_modules" / "dep" / "index.js").write_text("dep")
    (pkg / ".git").mkdir()
    (pkg / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (pkg / ".env.local").write_text("SECRET=1\n")
    (pkg / "deploy.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    context = assemble_context(ws, ["types"], dockerfile(tmp_path))
    sent = "\n".join(context.paths)
    for secret in ("node_modules", ".git", ".env", ".pem", "secret"):
        assert secret not in sent
    assert {e.path for e in context.excluded} >= {
        "packages/types/node_modules/",
        "packages/types/.git/",
        "packages/types/.env.local",
        "packages/types/deploy.pem",
    }


def test_dockerignore_applies_to_packages_with_exceptions(tmp_path: Path) -> None:
    ws = make_workspace(
        tmp_path / "ws",
        {"types": {"src/index.js": "x", "src/index.test.js": "t", "dist/old.js": "o"}},
    )
    (ws / "NOTES.md").write_text("n")
    (ws / "README.md").write_text("r")
    (ws / ".dockerignore").write_text("**/dist\n**/*.test.js\n*.md\n!README.md\n")
    context = assemble_context(
        ws, ["types"], dockerfile(tmp_path), include=["NOTES.md", "README.md"]
    )
    assert "packages/types/src/index.test.js" not in context.paths
    assert "packages/types/dist/old.js" not in context.paths
    assert "NOTES.md" not in context.paths
    assert "README.md" in context.paths
    assert ".dockerignore" not in context.paths  # not a file the tier needs


def test_tar_is_deterministic_and_complete(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", {"types": {"src/index.js": "module.exports = 1;\n"}})
    (ws / "packages" / "types" / "build.sh").write_text("#!/bin/sh\n")
    (ws / "packages" / "types" / "build.sh").chmod(0o755)
    context = assemble_context(ws, ["types"], dockerfile(tmp_path))
    first, second = io.BytesIO(), io.BytesIO()
    written = context.write(first)
    assemble_context(ws, ["types"], dockerfile_again(tmp_path)).write(second)
    assert first.getvalue() == second.getvalue()
    assert written == len(first.getvalue()) == context.tar_bytes
    first.seek(0)
    with tarfile.open(fileobj=first) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == sorted(m.path for m in context.members)
        assert sorted(n for n, m in members.items() if not m.isdir()) == context.paths
        assert members["packages/types/src"].isdir()
        assert {m.mtime for m in members.values()} == {0}
        assert members["packages/types/build.sh"].mode == 0o755
        assert members["package.json"].mode == 0o644
        source = tar.extractfile("packages/types/src/index.js")
        assert source is not None and source.read() == b"module.exports = 1;\n"


def dockerfile_again(tmp_path: Path) -> Path:
    return tmp_path / "df" / "Dockerfile"


def test_missing_package_directory_is_named(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", {"types": {}})
    with pytest.raises(ConfigError) as raised:
        assemble_context(ws, ["types", "ml"], dockerfile(tmp_path))
    assert raised.value.message == (
        f"package directory {ws / 'packages' / 'ml'} missing or incomplete"
    )


def test_missing_dockerfile_and_workspace(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", {"types": {}})
    with pytest.raises(ConfigError, match=r"Dockerfile .*nope not found"):
        assemble_context(ws, ["types"], tmp_path / "nope")
    with pytest.raises(ConfigError, match=r"workspace .*absent not found"):
        assemble_context(tmp_path / "absent", ["types"], DOCKERFILE)


@pytest.mark.parametrize(
    ("packages", "count"),
    [
        (["types", "utils", "telemetry", "market-data", "exchanges", "data-connectors"], 6),
    ],
)
def test_example_workspace_context(packages: list[str], count: int) -> None:
    context = assemble_context(EXAMPLE, packages, DOCKERFILE)
    sent = {p.split("/")[1] for p in context.paths if p.startswith("packages/")}
    assert sent == set(packages) and len(sent) == count
    assert {"package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", "tsconfig.base.json"} <= set(
        context.paths
    )
    assert "README.md" not in context.paths  # only the root files a tier needs
    assert {".noderr/Dockerfile", ".noderr/start.cjs", ".noderr/healthcheck.cjs"} <= set(
        context.paths
    )


@pytest.mark.parametrize("pattern", ["[", "secret[", "a/[b"])
def test_a_broken_pattern_is_one_error_never_a_wider_context(tmp_path: Path, pattern: str) -> None:
    # A hostile review: `[` in context.include was an internal error; in .dockerignore the
    # line was skipped, sending what it meant to exclude (docker refuses such a file).
    ignore = tmp_path / ".dockerignore"
    ignore.write_text(f"*.log\n{pattern}\n")
    with pytest.raises(ConfigError, match=rf"^{ignore}:2: '.*' is not a pattern"):
        DockerIgnore.read(ignore)
    # A NUL matches no path: the line would exclude nothing (review round 2).
    ignore.write_text("*.log\n**/di\0st\n")
    with pytest.raises(ConfigError, match=rf"^{ignore}:2: .* \(a NUL character matches no path"):
        DockerIgnore.read(ignore)
    ignore.unlink()
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ConfigError, match=r"^context.include .*: not a pattern"):
        assemble_context(tmp_path, [], tmp_path / "Dockerfile", include=[pattern])
