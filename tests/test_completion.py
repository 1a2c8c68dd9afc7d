"""Shell completion: typer's --show-completion / --install-completion and the completion protocol.

The completion requests run the console script's entry point (``noderr_deploy.cli:main``) in a
subprocess, as bash would: the lazily loading root group must list every command, or only the
command being typed would be known.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What the `noderr` console script runs (pyproject.toml [project.scripts]).
ENTRY_POINT = "import sys; from noderr_deploy.cli import main; sys.argv[0] = 'noderr'; main()"


def noderr(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_COMPLETE")}
    return subprocess.run(
        [sys.executable, "-c", ENTRY_POINT, *args],
        cwd=ROOT,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def complete(line: str) -> list[str]:
    """What bash completion offers for the last word of ``line`` (the words typed so far)."""
    words = line.split(" ")
    result = noderr(
        env={
            "_NODERR_COMPLETE": "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(words) - 1),
        }
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("noderr co", ["cohort"]),
        ("noderr rollo", ["rollout"]),
        ("noderr rollb", ["rollback"]),
        ("noderr rollback ch", ["check"]),
        ("noderr rollout st", ["status"]),
        ("noderr build --ti", ["--tier"]),
    ],
)
def test_completes_commands_and_options(line: str, expected: list[str]) -> None:
    assert complete(line) == expected


def test_completes_every_command_from_nothing() -> None:
    offered = complete("noderr ")
    for command in ("build", "cohort", "rollback", "rollout", "tiers", "version"):
        assert command in offered


def test_show_completion_prints_the_bash_script() -> None:
    result = noderr("--show-completion", "bash")
    assert result.returncode == 0, result.stderr
    assert "_NODERR_COMPLETE=complete_bash" in result.stdout
    assert result.stdout.rstrip().endswith("complete -o default -F _noderr_completion noderr")


def test_install_completion_writes_the_script_and_sources_it(tmp_path: Path) -> None:
    result = noderr("--install-completion", "bash", env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    script = tmp_path / ".bash_completions" / "noderr.sh"
    assert "_noderr_completion" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()


def test_bash_runs_the_completion_function(tmp_path: Path) -> None:
    """The script from --show-completion, sourced in a real bash, completes `noderr co`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "noderr"  # stands for the console script of this checkout
    shim.write_text(f'#!/bin/sh\ncd "{ROOT}" && exec "{sys.executable}" -c "{ENTRY_POINT}" "$@"\n')
    shim.chmod(0o755)
    script = noderr("--show-completion", "bash").stdout
    (tmp_path / "completion.sh").write_text(script)
    session = (
        f'source "{tmp_path / "completion.sh"}"\n'
        "COMP_WORDS=(noderr co); COMP_CWORD=1; _noderr_completion noderr\n"
        'echo "${COMPREPLY[@]}"\n'
    )
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_COMPLETE")}
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", session],
        env={**environ, "PATH": f"{bin_dir}:{environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cohort"]


@pytest.mark.parametrize(("shell", "marker"), [("zsh", "#compdef noderr"), ("bash", "complete ")])
def test_show_completion_honours_the_shell_given(shell: str, marker: str) -> None:
    # From any shell (here: whatever runs the tests), the script of the shell named.
    result = noderr("--show-completion", shell, env={"SHELL": "/bin/dash"})
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = noderr("--show-completion", "tcsh")
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot complete for shell 'tcsh'")


def test_debug_is_accepted_after_the_command_name() -> None:
    result = noderr("cohort", "--debug", "node-1", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("node-1,63,cohort3")


# ---- tier names from a hostile tiers.yaml ----

HOSTILE_TIERS = (
    "tiers:\n"
    "  oracle: {beacon_tier: 2, size_budget: 1GB}\n"
    "  ops: {beacon_tier: 1, size_budget: 1GB}\n"
    '  "o$(touch pwned)": {}\n'
    "  \"o'; touch pwned; '\": {}\n"
    '  "o\\"; touch pwned; \\"": {}\n'
    '  "o\\nforged": {}\n'
    '  "o\\e[31mred": {}\n'
    '  "o\\u202eevil": {}\n'
    '  "o`touch pwned`": {}\n'
    '  "Ox": {}\n'
)


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "tiers.yaml"
    path.write_text(HOSTILE_TIERS)
    return path


def protocol(shell: str, words: str, cwd: Path) -> str:
    """The raw answer to a completion request of ``shell`` (what its script reads or evals)."""
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_COMPLETE")}
    environ.pop("NODERR_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-c", ENTRY_POINT],
        cwd=cwd,
        env={
            **environ,
            "PYTHONPATH": str(ROOT),
            "_NODERR_COMPLETE": f"complete_{shell}",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split(" ")) - 1),
            "_TYPER_COMPLETE_ARGS": words,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command", ["cohort", "build", "rollout status", "rollback check"])
def test_bash_is_offered_only_valid_tier_names(command: str, hostile: Path) -> None:
    answer = protocol("bash", f"noderr {command} --tier o", hostile.parent)
    assert answer.splitlines() == ["oracle", "ops"]


def test_zsh_is_offered_only_valid_tier_names(hostile: Path) -> None:
    # zsh's script runs `eval` on this answer: nothing from the file may reach it but names.
    answer = protocol("zsh", "noderr cohort --tier o", hostile.parent)
    assert answer == '_arguments \'*: :(("oracle"\n"ops"))\'\n'
    assert "pwned" not in answer and "\x1b" not in answer


def test_the_completion_rule_is_the_schema_rule() -> None:
    from noderr_deploy.commands._options import TIER_NAME
    from noderr_deploy.config.models import _NAME

    assert f"^{TIER_NAME.pattern}$" == _NAME


def test_bash_completes_hostile_tiers_yaml_safely(hostile: Path, tmp_path: Path) -> None:
    """A real bash, with the script from --show-completion, completing in the folder of the
    hostile tiers.yaml: only the valid names, and nothing in the file is run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "noderr"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "{ENTRY_POINT}" "$@"\n')
    shim.chmod(0o755)
    (tmp_path / "completion.sh").write_text(noderr("--show-completion", "bash").stdout)
    session = (
        f'source "{tmp_path / "completion.sh"}"\n'
        "COMP_WORDS=(noderr cohort --tier o); COMP_CWORD=3; _noderr_completion noderr\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_COMPLETE")}
    environ.pop("NODERR_CONFIG", None)
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", session],
        cwd=hostile.parent,
        env={**environ, "PYTHONPATH": str(ROOT), "PATH": f"{bin_dir}:{environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["oracle", "ops"]
    assert not (hostile.parent / "pwned").exists()
