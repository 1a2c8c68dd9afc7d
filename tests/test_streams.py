"""Streams as a shell hands them over: pipes whose reader leaves, closed and full
descriptors, SIGTERM, a real terminal, and locales that are not UTF-8."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.terminal import on_a_pty

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "examples" / "health" / "demo-rollback.jsonl"
NODERR = f"{sys.executable} -m noderr_deploy"


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NODERR_")}
    return {**base, "PYTHONPATH": str(REPO), **extra}


def shell(script: str, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f"set -o pipefail; {script}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env(**extra),
        timeout=60,
        check=False,
    )


@pytest.fixture
def ids(tmp_path: Path) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("".join(f"node-{i}\n" for i in range(200_000)))
    (tmp_path / "small.txt").write_text("".join(f"node-{i}\n" for i in range(9_000)))
    return path


ROLLBACK = f"{NODERR} rollback check --health {DEMO} --version 1.4.2 --at 2026-03-03T13:00:00Z"


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (f"{NODERR} cohort -f small.txt", 0),  # a table: at most 10,000 ids
        (f"{NODERR} cohort -f ids.txt --format csv", 0),
        (f"{NODERR} cohort -f ids.txt --format jsonl", 0),
        (f"{ROLLBACK} --canary 5 --cohort-size 25", 3),  # the verdict survives the pipe
        (f"{ROLLBACK} --canary 5 --cohort-size 25 --json", 3),
    ],
)
def test_a_reader_that_leaves_keeps_the_exit_code(
    command: str, code: int, ids: Path, tmp_path: Path
) -> None:
    done = shell(f"{command} | head -1", tmp_path)
    assert done.returncode == code, done.stderr
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) == 1


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"])
@pytest.mark.parametrize(
    "command", [f"{NODERR} cohort node-1", f"{NODERR} cohort node-1 --json", ROLLBACK]
)
def test_a_stdout_that_cannot_be_written_is_one_error(
    command: str, redirect: str, tmp_path: Path
) -> None:
    done = shell(f"{command} {redirect}", tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: cannot write to stdout: ")


# What click and typer print themselves goes through the same guarded stdout.
COMPLETE = "_NODERR_COMPLETE=complete_bash COMP_WORDS='noderr coh' COMP_CWORD=1"


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"])
@pytest.mark.parametrize(
    "command",
    [
        f"{NODERR} --help",
        f"{NODERR} rollout --help",
        f"{NODERR} cohort --help",
        f"{NODERR} --version",
        f"{NODERR} --show-completion bash",
        f"{NODERR} --show-completion zsh",
        f"{NODERR}",  # no command: the help, on stdout
        f"{COMPLETE} {NODERR}",  # the candidates the shell asks for on <Tab>
    ],
)
def test_help_version_and_completion_to_a_closed_stdout_are_one_error(
    command: str, redirect: str, tmp_path: Path
) -> None:
    done = shell(f"{command} {redirect}", tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: cannot write to stdout: ")
    opened = shell(command, tmp_path)  # the same command with a stdout: it succeeds
    assert opened.returncode in (0, 2) and opened.stdout, opened.stderr


def test_a_usage_error_with_a_closed_stdout_stays_a_usage_error(tmp_path: Path) -> None:
    done = shell(f"{NODERR} cohort --no-such-flag >&-", tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: No such option")


def test_sigterm_ends_like_ctrl_c_with_143(ids: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text(ids.read_text() * 10)  # 2M ids: the hashing runs on worker processes
    process = subprocess.Popen(
        [sys.executable, "-m", "noderr_deploy", "cohort", "-f", str(big), "--summary"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 143
    # Only the last line is the ending: a log line may come first (which tiers.yaml).
    assert err.splitlines()[-1] == "error: terminated"
    assert "Traceback" not in err
    assert out == ""
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", str(big)], capture_output=True, text=True, check=False)
    assert left.stdout == ""


@pytest.mark.parametrize("locale", ["C", "POSIX", "C.UTF-8"])
def test_an_argument_is_hashed_from_the_bytes_the_shell_passed(locale: str, tmp_path: Path) -> None:
    node = "nodé-✓-1".encode()
    (tmp_path / "one.txt").write_bytes(node + b"\n")
    settings = {"LC_ALL": locale, "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    by_argument = subprocess.run(
        [sys.executable, "-m", "noderr_deploy", "cohort", node, "--format", "csv"],
        capture_output=True,
        env=env(**settings),
        check=False,
    )
    by_file = subprocess.run(
        [sys.executable, "-m", "noderr_deploy", "cohort", "-f", "one.txt", "--format", "csv"],
        capture_output=True,
        cwd=tmp_path,
        env=env(**settings),
        check=False,
    )
    assert by_argument.returncode == by_file.returncode == 0, by_argument.stderr
    assert by_argument.stdout == by_file.stdout
    # Human output on that terminal never fails on characters its encoding lacks.
    table = subprocess.run(
        [sys.executable, "-m", "noderr_deploy", "cohort", node],
        capture_output=True,
        env=env(**settings),
        check=False,
    )
    assert table.returncode == 0, table.stderr


def on_a_terminal(*args: str) -> tuple[int, str]:
    """Run noderr with a pseudo-terminal as stdout and stderr; its exit code and screen."""
    environ = {**env(TERM="xterm-256color", COLUMNS="120")}
    environ.pop("NO_COLOR", None)
    code, screen = on_a_pty([sys.executable, "-m", "noderr_deploy", *args], environ)
    return code, screen.decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("node", "shown"),
    [
        ("[bold]node-1[/bold]", "[bold]node-1[/bold]"),
        ("[/]", "[/]"),
        ("a\nforged  99  canary", "a\\nforged  99  canary"),
        ("\x1b[2J\x1b]0;owned\x07x", "\\x1b[2J\\x1b]0;owned\\x07x"),
        ("evil\u202eexe.txt", "evil\\u202eexe.txt"),
    ],
)
def test_a_terminal_shows_data_literally(node: str, shown: str) -> None:
    code, screen = on_a_terminal("cohort", node)
    assert code == 0, screen
    assert shown in screen
    # The only escape sequences are rich's colours; none came from the data.
    import re

    rest = re.sub(r"\x1b\[[0-9;]*m", "", screen)
    assert "\x1b" not in rest
    assert "\u202e" not in screen


def test_a_terminal_error_line_shows_data_literally() -> None:
    code, screen = on_a_terminal("cohort", "--file", "no[red]such\x1b[31m.txt")
    assert code == 2
    assert "no[red]such\\x1b[31m.txt" in screen


def test_a_warning_is_one_line_on_a_narrow_terminal() -> None:
    # A hostile review: on a 60-column terminal rich wrote newlines into warnings (error
    # lines, written raw, were one line). The terminal wraps for the eye; the bytes do not.
    import re

    environ = {**env(TERM="xterm-256color", COLUMNS="60")}
    environ.pop("NO_COLOR", None)
    argv = [sys.executable, "-m", "noderr_deploy", "cohort", "a", "a", "--canary", "1"]
    code, raw = on_a_pty([*argv, "--cohort-size", "1"], environ)
    assert code == 0, raw
    lines = re.sub(rb"\x1b\[[0-9;]*m", b"", raw).split(b"\r\n")
    whole = (
        b"warning: the arguments: 1 repeated node id (1 id given more than once): each repeat"
        b" gets its row"
    )
    assert whole in lines, raw


@pytest.mark.parametrize("group", [[], ["rollout"], ["rollback"]])
def test_a_group_alone_shows_its_help_once_on_a_terminal(group: list[str]) -> None:
    # Review round 2: rich drew the help as the error was made, and again when shown.
    code, screen = on_a_terminal(*group)
    assert code == 2, screen
    assert screen.count("Usage") == 1, screen
