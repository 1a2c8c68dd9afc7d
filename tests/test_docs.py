"""The documentation matches the code.

- every command and subcommand has help text with an example, and a `### noderr <cmd>` section
  in the README;
- every `$ noderr ...` line of the README's code blocks, and every `noderr ...` line of the
  CI examples in examples/ci/, still parses: it runs through the CLI with `--help` appended
  (`--dry-run` for `noderr build`, which then checks the whole plan);
- every `NODERR_*` variable read in noderr_deploy/ is in the README's configuration table;
- the Quickstart starts with `scripts/demo` and `scripts/test`.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import typer
import yaml
from typer.testing import CliRunner

from noderr_deploy.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CI_EXAMPLES = sorted((ROOT / "examples" / "ci").glob("*.yml"))


def command_paths() -> list[tuple[str, click.Command]]:
    """("build", cmd), ("rollout", group), ("rollout status", cmd), ... for the whole app."""
    root = typer.main.get_command(app)
    found: list[tuple[str, click.Command]] = []

    def walk(prefix: str, command: click.Command, ctx: click.Context) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                path = f"{prefix} {name}".strip()
                found.append((path, sub))
                walk(path, sub, click.Context(sub, parent=ctx, info_name=name))

    walk("", root, click.Context(root, info_name="noderr"))
    return found


PATHS = command_paths()


def section(title: str) -> str:
    """The README text under ``## title`` up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"no '## {title}' section in README.md"
    return match[1]


def test_the_app_has_the_expected_commands() -> None:
    names = {path for path, _ in PATHS}
    assert {"build", "tiers", "cohort", "version", "rollout status", "rollback check"} <= names


@pytest.mark.parametrize(("path", "command"), PATHS, ids=[p for p, _ in PATHS])
def test_every_command_has_help_with_an_example(path: str, command: click.Command) -> None:
    result = CliRunner().invoke(app, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert command.help, f"noderr {path} has no help text"
    assert "Example" in result.output, f"`noderr {path} --help` shows no example"


@pytest.mark.parametrize("path", [p for p, c in PATHS if not isinstance(c, click.Group)])
def test_every_command_has_a_readme_section(path: str) -> None:
    assert re.search(rf"^### noderr {re.escape(path)}$", README, re.M), (
        f"README.md has no '### noderr {path}' section"
    )


# ---- examples parse ----


def code_blocks(text: str) -> Iterator[str]:
    yield from re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M)


def joined_lines(block: str) -> Iterator[str]:
    """Lines of a block with backslash continuations joined."""
    pending = ""
    for line in block.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def argv_of(command_line: str) -> list[str]:
    """The arguments of ``noderr ...`` up to the first pipe, redirection or list operator."""
    lexer = shlex.shlex(command_line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    assert words[0] == "noderr", command_line
    argv: list[str] = []
    for word in words[1:]:
        if set(word) <= set("|&;<>()"):
            break
        argv.append(word)
    if argv and argv[-1].isdigit() and len(argv) < len(words) - 1:
        argv.pop()  # the "2" of "2>build.log"
    return argv


def readme_commands() -> list[str]:
    # Troubleshooting's commands fail on purpose: its listing is run (below) instead.
    text = README.replace(section("Troubleshooting"), "")
    return [
        line[2:]
        for block in code_blocks(text)
        for line in joined_lines(block)
        if line.startswith("$ noderr ")
    ]


def ci_commands() -> list[str]:
    commands = []
    for path in CI_EXAMPLES:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job["steps"]:
                for line in joined_lines(step.get("run", "")):
                    if line.strip().startswith("noderr "):
                        commands.append(line.strip())
    return commands


def run_example(command_line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    argv = argv_of(command_line)
    config = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-c", "--config")), None)
    # build: a dry run checks every flag value and the plan against the repository's
    # tiers.yaml; one naming a config file that exists only in the example gets --help.
    if argv[0] == "build" and (config is None or (ROOT / config).is_file()):
        argv = [*argv, "--dry-run"]
        for flag in ("--metadata-file",):  # keep the dry run from writing into the repository
            if flag in argv:
                argv[argv.index(flag) + 1] = str(tmp_path / "build.json")
    elif argv[0].startswith("-"):
        # Root options such as --install-completion are eager and act in the order given:
        # --help must come first, or the example would really install the completion.
        argv = ["--help", *argv]
    else:
        argv = [*argv, "--help"]
    monkeypatch.chdir(ROOT)
    env: dict[str, str | None] = {"HOME": str(tmp_path)}  # whatever slips through stays here
    env |= {name: None for name in ("NODERR_RPC_URL", "NODERR_BEACON_ADDRESS", "NODERR_CONFIG")}
    return CliRunner().invoke(app, argv, env=env)


README_COMMANDS = readme_commands()
CI_COMMANDS = ci_commands()


def test_the_readme_and_ci_examples_have_commands() -> None:
    # Guards the extraction itself: a regex gone wrong would make the tests below vacuous.
    assert len(README_COMMANDS) >= 20
    assert any(c.startswith("noderr build --all --push") for c in CI_COMMANDS)
    assert any(c.startswith("noderr rollback check") for c in CI_COMMANDS)


@pytest.mark.parametrize("command_line", README_COMMANDS + CI_COMMANDS)
def test_documented_commands_parse(
    command_line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_example(command_line, tmp_path, monkeypatch)
    assert result.exit_code == 0, f"{command_line}\n{result.output}"


def test_an_unknown_flag_in_an_example_would_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for line in ("noderr cohort node-1 --no-such-flag", "noderr build --all --no-such-flag"):
        assert run_example(line, tmp_path, monkeypatch).exit_code == 2


def test_argv_stops_at_pipes_and_redirections() -> None:
    assert argv_of("noderr tiers --json | jq .") == ["tiers", "--json"]
    assert argv_of("noderr --install-completion bash") == ["--install-completion", "bash"]
    assert argv_of("noderr build --all 2>build.log") == ["build", "--all"]
    assert argv_of('noderr cohort "a b" > out.csv') == ["cohort", "a b"]


# ---- CI examples ----


@pytest.mark.parametrize("path", CI_EXAMPLES, ids=[p.name for p in CI_EXAMPLES])
def test_ci_examples_are_workflows(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    # PyYAML (YAML 1.1) reads the key `on` as True.
    triggers = doc.get("on", doc.get(True))
    assert triggers, f"{path.name}: no `on:` triggers"
    assert doc["jobs"]
    for job in doc["jobs"].values():
        assert job["runs-on"]
        assert all("uses" in step or "run" in step for step in job["steps"])


def test_build_workflow_pushes_with_credentials_from_secrets() -> None:
    text = (ROOT / "examples" / "ci" / "build-images.yml").read_text()
    assert "NODERR_REGISTRY_USER: ${{ secrets." in text
    assert "NODERR_REGISTRY_PASSWORD: ${{ secrets." in text


def test_rollback_workflow_is_scheduled_and_fails_on_exit_3() -> None:
    doc = yaml.safe_load((ROOT / "examples" / "ci" / "rollback-check.yml").read_text())
    assert doc[True]["schedule"]
    script = "\n".join(s.get("run", "") for s in doc["jobs"]["check"]["steps"])
    assert "--json" in script
    assert re.search(r"^\s*3\).*\n\s*exit 3", script, re.M)
    assert re.search(r"^\s*4\) echo \"::warning", script, re.M)


# ---- configuration ----


def code_variables() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "noderr_deploy").rglob("*.py"):
        found |= set(re.findall(r"\bNODERR_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    return found


def test_every_variable_the_code_reads_is_in_the_configuration_table() -> None:
    table = set(re.findall(r"^\| `(NODERR_[A-Z0-9_]+)` \|", section("Configuration"), re.M))
    variables = code_variables()
    assert len(variables) >= 15
    assert variables - table == set(), "add these to the README configuration table"


# ---- quickstart ----


def test_the_quickstart_starts_with_the_demo_and_the_tests() -> None:
    first_block = next(code_blocks(section("Quickstart")))
    commands = [line[2:] for line in first_block.splitlines() if line.startswith("$ ")]
    assert commands[:2] == ["scripts/demo", "scripts/test"]
    for script in ("demo", "test"):
        path = ROOT / "scripts" / script
        assert path.is_file()
        assert path.stat().st_mode & 0o111, f"scripts/{script} is not executable"


# ---- listings: the README's output is what the commands print ----
#
# Every console block that shows `$ noderr ...` is either run here, as one bash script in a
# directory holding the example workspace (tiers.yaml, examples/, dockerfiles/), its output
# (stdout and stderr, as a terminal shows them) compared with the block's output lines, or
# listed in NOT_RUN_HERE with what it needs. A change of output fails until the README is
# updated; a new listing fails until it is run or listed. `[...]` in a listing stands for
# text cut: a line of its own for any number of lines, inside a line for part of it.

# Listings that need what this module does not start (the Docker engine, the registry, a
# chain in a given state): the integration module named runs each, and lists it in its
# RUNS (checked below), against the real services.
RUN_BY_INTEGRATION = {
    "$ noderr build --tier all --dry-run --version 1.4.0": "test_readme_build.py",
    "$ noderr publish --tier oracle --version 1.4.0": "test_readme_build.py",
    "$ export NODERR_RPC_URL=http://127.0.0.1:8545 NODERR_BEACON_ADDRESS=": "test_readme_chain.py",
    "$ noderr rollout status --tier oracle --block 5 --json": "test_readme_chain.py",
    "$ noderr rollout status --tier oracle --tier guardian --health health.jsonl": (
        "test_readme_chain.py"
    ),
    "$ noderr version node-042 --tier oracle --current 1.3.2": "test_readme_chain.py",
    "$ noderr rollback check --tier oracle --health exports/": "test_readme_chain.py",
    "$ noderr rollback propose --tier oracle": "test_readme_actions.py",
}
# Listings no test can produce as shown, and why.
CANNOT_RUN = {
    # tests/integration/test_demo.py runs the demo itself; the listing is cut with [...]
    # and shows a pid, a port and timings of one run.
    "$ scripts/demo": "the demo: a chain, the Docker engine and a build, all of it shown",
    "$ pip install -e .": "an installation into the running environment",
    "$ noderr --install-completion bash": "it would install into the user's shell",
    "$ scripts/test": "the test suite itself",
}
NOT_RUN_HERE = {**RUN_BY_INTEGRATION, **CANNOT_RUN}

HOME_IN_README = "/home/op/noderr-deploy"


def console_listings() -> list[str]:
    blocks = re.findall(r"^```console\n(.*?)^```", README, re.S | re.M)
    return [b for b in blocks if any(line.startswith("$ ") for line in b.splitlines())]


def first_command(block: str) -> str:
    return next(line for line in block.splitlines() if line.startswith("$ "))


LISTINGS = [b for b in console_listings() if not first_command(b).startswith(tuple(NOT_RUN_HERE))]


def test_every_listing_is_run_or_says_why_not() -> None:
    firsts = [first_command(b) for b in console_listings()]
    for start in NOT_RUN_HERE:  # each entry still names a listing
        assert any(f.startswith(start) for f in firsts), f"stale NOT_RUN_HERE entry {start!r}"
    assert len(LISTINGS) >= 5
    assert any(first_command(b).startswith("$ printf 'node-1") for b in LISTINGS)


def test_every_listing_left_to_the_integration_tests_is_run_there() -> None:
    # Each module lists the listings it runs in RUNS; a start named here but missing there
    # (or the reverse) fails, so no listing is silently left unrun.
    integration = ROOT / "tests" / "integration"
    claimed: dict[str, set[str]] = {}
    for start, module in RUN_BY_INTEGRATION.items():
        claimed.setdefault(module, set()).add(start)
    for module, starts in claimed.items():
        source = (integration / module).read_text()
        runs = re.search(r"^RUNS = \((.*?)\)$", source, re.S | re.M)
        assert runs, f"{module} has no RUNS"
        named = set(re.findall(r'"(\$ [^"]+)"', runs[1]))
        constants = dict(re.findall(r'^([A-Z_]+) = "(\$ [^"]+)"$', source, re.M))
        named |= {constants[n] for n in re.findall(r"\b([A-Z_]+)\b", runs[1]) if n in constants}
        assert named == starts, f"{module} RUNS {sorted(named)} != {sorted(starts)}"


def script_and_expected(block: str) -> tuple[str, str]:
    """The block's commands as a bash script, and its output lines."""
    commands: list[str] = []
    output: list[str] = []
    continuing = False
    for line in block.splitlines():
        if line.startswith("$ ") or continuing:
            text = line[2:] if line.startswith("$ ") and not continuing else line
            commands.append(text)
            continuing = line.rstrip().endswith("\\")
        else:
            output.append(line)
    return "\n".join(commands) + "\n", "".join(f"{line}\n" for line in output)


def listing_pattern(expected: str) -> re.Pattern[str]:
    """``expected`` as a regex: exact but for ``[...]``."""
    parts = []
    for line in expected.splitlines(keepends=True):
        if line.strip() == "[...]":
            parts.append(r"(?:.*\n)*?")
            continue
        escaped = re.escape(line)
        escaped = re.sub(r"\\\[\\\.\\\.\\\.\\\](?:\\ )+", r".*?\\s+", escaped)
        parts.append(escaped.replace(r"\[\.\.\.\]", ".*?"))
    return re.compile("".join(parts) + r"\Z")


def run_listing(block: str, work: Path) -> tuple[str, str]:
    for name in ("tiers.yaml", "examples", "dockerfiles"):
        if not (work / name).is_symlink():  # a second listing in the same folder
            (work / name).symlink_to(ROOT / name)
    script, expected = script_and_expected(block)
    prelude = 'noderr() { "$PYTHON" -m noderr_deploy "$@"; }\nset +e\n'
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
        "PYTHON": sys.executable,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "LC_ALL": "C.UTF-8",
    }
    done = subprocess.run(
        ["bash", "-c", prelude + script],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout, expected.replace(HOME_IN_README, str(work))


def listing_starting(start: str) -> str:
    """The one console listing whose first command starts with ``start``."""
    (block,) = [b for b in console_listings() if first_command(b).startswith(start)]
    return block


def assert_listing(script: str, work: Path) -> None:
    """Run a listing (or a script ending in one) in ``work``; its output must match."""
    actual, expected = run_listing(script, work)
    assert listing_pattern(expected).match(actual), (
        f"README listing out of date.\n--- README shows:\n{expected}--- the commands print:\n"
        f"{actual}"
    )


@pytest.mark.parametrize("block", LISTINGS, ids=[first_command(b)[2:60] for b in LISTINGS])
def test_listing_output_is_what_the_commands_print(block: str, tmp_path: Path) -> None:
    assert_listing(block, tmp_path)


def test_every_troubleshooting_row_is_an_error_the_listing_shows() -> None:
    # The table explains the listing's error lines: each message it names (`a ... b`: the
    # parts around the cut) is in one error line of the listing, which the test above runs.
    text = section("Troubleshooting")
    (block,) = [b for b in console_listings() if b in text]
    errors = [line for line in block.splitlines() if line.startswith("error: ")]
    rows = re.findall(r"^\| (`.*?) \| ", text, re.M)
    assert len(rows) >= 10
    for cell in rows:
        for message in re.findall(r"`([^`]+)`", cell):
            parts = [p.strip() for p in message.split("...") if p.strip()]
            assert any(all(p in line for p in parts) for line in errors), (
                f"Troubleshooting row {message!r} matches no error line of its listing"
            )


def test_a_changed_output_fails_the_listing_test(tmp_path: Path) -> None:
    block = "$ noderr cohort node-1 -q\nnode id  bucket  cohort\nnode-1   64      cohort3\n"
    actual, expected = run_listing(block, tmp_path)
    assert actual == "node id  bucket  cohort\nnode-1   63      cohort3\n"
    assert not listing_pattern(expected).match(actual)
    assert listing_pattern("a [...] z\n[...]\nend\n").match("a b c z\nx\ny\nend\n")
