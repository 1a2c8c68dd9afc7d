"""A tier's context against its Dockerfile, on a workspace shaped like the network's monorepo."""

from __future__ import annotations

import io
import itertools
import os
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noderr_deploy.errors import ConfigError
from noderr_deploy.images.context import assemble_context
from noderr_deploy.images.dockerfile import expand, parse_dockerfile
from noderr_deploy.images.preflight import tier_context
from noderr_deploy.images.secrets import never_sent
from tests.support.monorepo import SECRET_TEXT, SECRETS, make_monorepo

ARGS = {"BASE_IMAGE": "base:1", "TIER": "all", "PACKAGES": "core market-data", "VERSION": "1"}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return make_monorepo(tmp_path / "ws")


def check(ws: Path, dockerfile: str, packages: list[str], **kwargs: object) -> object:
    return tier_context(
        workspace=ws,
        tier="all",
        packages=packages,
        dockerfile=ws / dockerfile,
        build_args=ARGS,
        **kwargs,  # type: ignore[arg-type]
    )


def test_tier_dockerfile_gets_what_it_copies_by_workspace_path(ws: Path) -> None:
    checked = check(ws, "docker/all/Dockerfile", ["core", "market-data"])
    context = checked.context  # type: ignore[attr-defined]
    assert context.dockerfile == "docker/all/Dockerfile"
    paths = set(context.paths)
    assert {
        "docker/all/Dockerfile",
        "docker/all/start.sh",
        "docker/all/ecosystem.config.js",
        "package.json",
        "pnpm-lock.yaml",
        "pnpm-workspace.yaml",
        ".npmrc",  # token-free: sent
        "tsconfig.json",
        "packages/core/src/index.js",
        "packages/market-data/package.json",
    } <= paths
    # Only what the tier needs: no sibling Dockerfile, no other tier, no log, no tiers.yaml.
    for absent in ("docker/all/Dockerfile.prod", "docker/oracle/start.sh", "tiers.yaml",
                   "build.log", "README.md", "Dockerfile", "packages/ml/package.json"):  # fmt: skip
        assert absent not in paths
    members = {m.path: m for m in context.members}
    assert members["docker/all/start.sh"].mode == 0o755
    assert members["packages/core/empty"].is_dir  # empty directories are kept
    assert members["docker"].is_dir and members["docker/all"].is_dir
    assert checked.notes == ()  # type: ignore[attr-defined]


def test_secrets_in_any_case_are_never_sent(ws: Path) -> None:
    checked = check(ws, "docker/all/Dockerfile", ["core", "market-data"], include=["docker/all"])
    context = checked.context  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    context.write(buffer)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        names = tar.getnames()
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                assert SECRET_TEXT.encode() not in data, member.name
    lowered = [n.casefold() for n in names]
    for secret in SECRETS:
        assert not [n for n in lowered if n.endswith(secret.casefold())], secret
    assert "docker/all/start.sh" in names


@given(
    st.sampled_from(
        [
            ".env",
            ".env.local",
            "id_rsa",
            "id_ed25519.pub",
            "a.pem",
            "b.key",
            "c.p12",
            "d.pfx",
            ".netrc",
            ".git-credentials",
            "x-credentials-y.json",
        ]
    ),
    st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_never_sent_ignores_case(name: str, upper: list[bool]) -> None:
    mixed = "".join(c.upper() if u else c for c, u in zip(name, itertools.cycle(upper)))
    assert never_sent(mixed) is not None


@pytest.mark.parametrize("name", ["id_generator.ts", "identity.js", "keys.ts", "env.ts", "pem.md"])
def test_source_files_that_look_like_secrets_are_sent(name: str) -> None:
    assert never_sent(name) is None


def test_token_bearing_npmrc_is_refused_naming_file_and_line(ws: Path) -> None:
    (ws / ".dockerignore").write_text("**/*.log\n")  # no longer leaves packages/ml/.npmrc out
    with pytest.raises(ConfigError) as raised:
        check(ws, "docker/oracle/Dockerfile", ["core", "market-data", "ml-client", "ml"])
    assert raised.value.message.startswith(
        f"{ws}/packages/ml/.npmrc:1: a registry credential would be sent"
    )
    assert raised.value.details == [f"{ws}/packages/ml/.npmrc:1: _authToken holds a credential"]
    assert "SECRETSECRET" not in raised.value.message + "".join(raised.value.details)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".npmrc", "registry=https://ci:hunter22@npm.example/\n"),
        (".NPMRC", "# settings\n//npm.example/:_password=aHVudGVy\n"),
        (".npmrc", "_auth = dXNlcjpwYXNz\n"),
        (".yarnrc.yml", "npmScopes:\n  noderr:\n    npmAuthToken: npm_abc\n"),
        # YAML's flow style: several keys on one line (a hostile review's case).
        (".yarnrc.yml", "npmScopes: {noderr: {npmAuthToken: abcSECRET}}\n"),
        (".Yarnrc.yml", 'npmScopes: {a: {npmAlwaysAuth: true, "npmAuthIdent": "u:p"}}\n'),
        # A second review: what YAML reads as a token however the lines are laid out.
        (".yarnrc.yml", "npmAuthToken:\n  abc123secret\n"),
        (".yarnrc.yml", '"npmAuth\\x54oken": abc123secret\n'),
        (".yarnrc.yml", "? npmAuthToken\n: abc123secret\n"),
    ],
)
def test_each_credential_form_is_refused(ws: Path, name: str, text: str) -> None:
    (ws / ".npmrc").unlink()
    (ws / name).write_text(text)
    with pytest.raises(ConfigError, match=rf"{name}:\d+: a registry credential"):
        assemble_context(ws, ["core"], ws / "Dockerfile", include=[name])


def test_a_token_reference_is_not_a_token(ws: Path) -> None:
    (ws / ".npmrc").write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    context = assemble_context(ws, ["core"], ws / "Dockerfile")
    assert ".npmrc" in context.paths


def test_root_dockerfile_sends_no_root_file_it_does_not_need(ws: Path) -> None:
    checked = check(ws, "Dockerfile", ["core"])
    paths = set(checked.context.paths)  # type: ignore[attr-defined]
    assert "Dockerfile" in paths and ".noderr/Dockerfile" not in paths
    assert not [p for p in paths if p.startswith(".noderr/")]
    assert "README.md" not in paths and "tiers.yaml" not in paths


def test_dockerfile_outside_the_workspace_builds_its_own_name(tmp_path: Path, ws: Path) -> None:
    folder = tmp_path / "dockerfiles"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\nCOPY package.json /good\n")
    (folder / "Dockerfile.fail").write_text("FROM scratch\nRUN exit 1\n")
    (folder / ".Env").write_text("SECRET=1\n")
    (folder / "start.cjs").write_text("// helper\n")
    context = assemble_context(ws, ["core"], folder / "Dockerfile.fail")
    assert context.dockerfile == ".noderr/Dockerfile.fail"
    members = {m.path: m for m in context.members}
    assert members[".noderr/Dockerfile.fail"].source == folder / "Dockerfile.fail"
    assert members[".noderr/Dockerfile"].source == folder / "Dockerfile"
    assert ".noderr/start.cjs" in members and ".noderr/.Env" not in members


def test_hard_coded_from_says_base_image_has_no_effect(ws: Path) -> None:
    checked = check(ws, "docker/all/Dockerfile.prod", ["core"])
    [note] = checked.notes  # type: ignore[attr-defined]
    assert note == (
        f"tier all: base_image has no effect: {ws}/docker/all/Dockerfile.prod does not use the"
        " BASE_IMAGE build arg (FROM noderr-test/base:unset at line 1)"
    )


@pytest.mark.parametrize(
    ("copy", "packages", "fix"),
    [
        ("COPY packages/ml ./packages/ml", ["core"],
         "package ml is not in tier all (add it to the tier's packages)"),
        ("COPY packages/nope ./x", ["core"], "there is no package nope in the workspace {ws}"),
        ("COPY docker/missing.sh /x", ["core"], "{ws}/docker/missing.sh does not exist"),
        ("COPY --chown=1:1 packages/core/debug.log /x", ["core"],
         "it is left out (.dockerignore)"),
        ("COPY .ENV /x", ["core"], "it is left out (matches .env* (secrets are never sent))"),
        ("COPY ../outside /x", ["core"], "it is outside the build context"),
        ('COPY ["docker/gone.sh", "/x"]', ["core"], "{ws}/docker/gone.sh does not exist"),
    ],
)  # fmt: skip
def test_missing_source_names_line_source_and_fix(
    ws: Path, copy: str, packages: list[str], fix: str
) -> None:
    (ws / "docker" / "t.Dockerfile").write_text(f"FROM scratch\n\n# a comment\n{copy}\n")
    with pytest.raises(ConfigError) as raised:
        check(ws, "docker/t.Dockerfile", packages)
    written = copy.split()[-2] if not copy.startswith('COPY ["') else "docker/gone.sh"
    written = written.strip('",')
    assert raised.value.message == (
        f"{ws}/docker/t.Dockerfile:4: COPY source {written!r} is not in the context of tier all:"
        f" {fix.format(ws=ws)}"
    )


def test_globs_are_optional_when_another_source_matches(ws: Path) -> None:
    (ws / "docker" / "t.Dockerfile").write_text(
        "FROM scratch\nCOPY package.json yarn.lock* ./\nCOPY .npmrc* ./\n"
        "COPY packages/*/package.json /manifests/\n"
    )
    check(ws, "docker/t.Dockerfile", ["core"])
    (ws / ".npmrc").unlink()
    with pytest.raises(ConfigError) as raised:
        check(ws, "docker/t.Dockerfile", ["core"])
    assert raised.value.message == (
        f"{ws}/docker/t.Dockerfile:3: COPY .npmrc*: no file of the context of tier all matches"
        " (the builder fails with 'no source files were specified'): make one of the files"
        " exist, or drop the instruction"
    )


def test_glob_that_matches_only_outside_the_context_suggests_the_include(ws: Path) -> None:
    (ws / "turbo.json").write_text("{}\n")
    (ws / "docker" / "t.Dockerfile").write_text("FROM scratch\nCOPY turbo*.json ./\n")
    with pytest.raises(ConfigError, match=r"add turbo\.json to context\.include in tiers\.yaml"):
        check(ws, "docker/t.Dockerfile", ["core"])
    check(ws, "docker/t.Dockerfile", ["core"], include=["turbo.json"])


def test_every_missing_source_is_reported_at_once(ws: Path) -> None:
    (ws / "docker" / "t.Dockerfile").write_text(
        "FROM scratch\nCOPY a.txt /\nCOPY --from=builder /out /out\nCOPY \\\n  b.txt /\n"
    )
    with pytest.raises(ConfigError) as raised:
        check(ws, "docker/t.Dockerfile", ["core"])
    assert raised.value.message == (
        f"tier all: 2 sources of {ws}/docker/t.Dockerfile are not in its context"
    )
    assert [d.split(": ")[0] for d in raised.value.details] == [
        f"{ws}/docker/t.Dockerfile:2",
        f"{ws}/docker/t.Dockerfile:4",
    ]


def test_build_args_are_expanded_where_known(ws: Path) -> None:
    text = (
        "ARG TIER\nARG DIR=docker\nFROM scratch\nARG TIER\nARG DIR\n"
        "COPY ${DIR}/${TIER}/start.sh /\nCOPY $HOME/x /\nCOPY ${NOPE:-docker}/all/start.sh /\n"
    )
    facts = parse_dockerfile(text, ws / "Dockerfile", ARGS)
    assert [s.path for c in facts.copies for s in c.sources] == [
        "docker/all/start.sh",
        None,  # an ENV of the base image, maybe: not judged here
        "docker/all/start.sh",
    ]


def test_escape_directive_and_continuations() -> None:
    text = "# escape=`\nFROM scratch\nCOPY a `\n  # comment inside\n  b /dst/\nADD https://x/y /z\n"
    facts = parse_dockerfile(text, Path("Dockerfile"), {})
    assert [(s.line, s.path) for c in facts.copies for s in c.sources] == [(3, "a"), (3, "b")]


@given(st.text(max_size=40))
@settings(max_examples=300)
def test_parser_never_crashes(text: str) -> None:
    parse_dockerfile(text, Path("Dockerfile"), {"A": "1"})
    expand(text, {"A": "1", "B": None})


def test_tar_size_is_known_without_reading_files(ws: Path) -> None:
    long = ws / "packages" / "core" / ("d" * 120) / ("é" * 70 + ".js")
    long.parent.mkdir()
    long.write_text("x" * 1000)
    context = assemble_context(ws, ["core", "ml"], ws / "Dockerfile")
    buffer = io.BytesIO()
    assert context.write(buffer) == len(buffer.getvalue()) == context.tar_bytes


def test_unreadable_file_or_directory_is_exit_2_naming_it(ws: Path) -> None:
    target = ws / "packages" / "core" / "src" / "index.js"
    with pytest.raises(ConfigError, match=rf"^{target}: cannot read: Permission denied"):
        assemble_context(ws, ["core"], ws / "Dockerfile", readable=lambda p: p != target)
    folder = ws / "packages" / "core" / "src"
    with pytest.raises(ConfigError, match=rf"^{folder}: cannot read"):
        assemble_context(ws, ["core"], ws / "Dockerfile", readable=lambda p: p != folder)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_for_real(ws: Path) -> None:
    target = ws / "packages" / "core" / "src" / "index.js"
    target.chmod(0)
    with pytest.raises(ConfigError, match="cannot read"):
        assemble_context(ws, ["core"], ws / "Dockerfile")


def test_include_rules(ws: Path) -> None:
    context = assemble_context(
        ws, ["core"], ws / "Dockerfile", include=["docker/*/start.sh", "docker/oracle/"]
    )
    paths = set(context.paths)
    assert {"docker/all/start.sh", "docker/oracle/start.sh", "docker/oracle/Dockerfile"} <= paths
    assert not [p for p in paths if p.casefold().endswith((".env", ".pem", "id_rsa"))]
    for bad in ("../x", ".", "/"):
        with pytest.raises(ConfigError, match=r"context\.include"):
            assemble_context(ws, ["core"], ws / "Dockerfile", include=[bad])
    with pytest.raises(ConfigError, match=r"context.include 'nope/': .*nope does not exist"):
        assemble_context(ws, ["core"], ws / "Dockerfile", include=["nope/"])


def test_include_through_a_symlink_is_refused(ws: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0\n")
    (ws / "linked").symlink_to(outside)
    with pytest.raises(ConfigError, match="symbolic link"):
        assemble_context(ws, ["core"], ws / "Dockerfile", include=["linked/passwd"])


def test_deep_nesting_and_odd_names(ws: Path) -> None:
    folder = ws / "packages" / "core"
    deep = folder
    for _ in range(400):  # deeper than the recursion limit allows a recursive walk
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "leaf.js").write_text("1")
    odd = os.fsdecode(b"caf\xe9-\x1b[31m.js")  # not UTF-8, with a terminal escape
    (folder / odd).write_text("2")
    context = assemble_context(ws, ["core"], ws / "Dockerfile")
    buffer = io.BytesIO()
    assert context.write(buffer) == context.tar_bytes
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        names = tar.getnames()
    assert any(n.endswith("/leaf.js") for n in names)
    assert len([n for n in names if "caf" in n]) == 1


def test_a_linked_npmrc_is_sent_as_a_link_and_never_read(ws: Path) -> None:
    (ws / ".npmrc").unlink()
    (ws / ".npmrc").symlink_to("/dev/zero")  # reading it would never end
    context = assemble_context(ws, ["core"], ws / "Dockerfile")
    [member] = [m for m in context.members if m.path == ".npmrc"]
    assert member.link == "/dev/zero"


@pytest.mark.parametrize("inside", [".aws/credentials", ".git/config", ".Git/config",
                                    "packages/core/.AWS/config", "sub/.git/config"])  # fmt: skip
@pytest.mark.parametrize("how", ["copy", "include"])
def test_a_file_inside_a_never_sent_directory_is_never_sent_by_name(
    ws: Path, inside: str, how: str
) -> None:
    # A hostile review: naming the file (COPY, context.include) sent it, credentials and all.
    (ws / inside).parent.mkdir(parents=True, exist_ok=True)
    (ws / inside).write_text(SECRET_TEXT)
    copy = f"COPY {inside} /x" if how == "copy" else "COPY packages/core /x"
    (ws / "docker" / "t.Dockerfile").write_text(f"FROM scratch\n{copy}\n")
    include = [inside] if how == "include" else []
    try:
        checked = check(ws, "docker/t.Dockerfile", ["core"], include=include)
    except ConfigError as exc:  # the COPY names what is left out: refused, with the reason
        assert "is never sent" in " ".join([str(exc), *exc.details]), exc
        return
    buffer = io.BytesIO()
    checked.context.write(buffer)  # type: ignore[attr-defined]
    assert SECRET_TEXT.encode() not in buffer.getvalue()
