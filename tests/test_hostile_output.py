"""Every command's human output, walked with hostile text from outside: a workspace whose
folder name holds a newline, an escape sequence, a bidi override and rich markup, node ids
and health reports that do too, flag values that do. Piped and on a terminal, nothing of
it is obeyed: no escape sequence but rich's colours, no U+202E, no forged line, no markup.

A command added to the CLI fails :func:`test_every_command_is_walked` until it is here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_docs import PATHS
from tests.test_streams import on_a_terminal

ROOT = Path(__file__).resolve().parents[1]
# A newline then a forged line, a colour, a screen clear, a bidi override, rich markup.
HOSTILE = "\nFORGED \x1b[31m\x1b[2J\u202e[bold]B"  # no '/': it names folders too
BEACON = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DEAD_RPC = "http://127.0.0.1:9/"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example workspace, in a folder named with the hostile text, plus hostile inputs."""
    base = tmp_path_factory.mktemp("hostile") / f"ws{HOSTILE}"
    base.mkdir()
    for name in ("examples", "dockerfiles"):
        shutil.copytree(ROOT / name, base / name)
    shutil.copy(ROOT / "tiers.yaml", base / "tiers.yaml")
    # One id a line: the file's ids hold all of the hostile text but the newline.
    (base / f"ids{HOSTILE}.txt").write_text(f"node-1\nn{HOSTILE.replace(chr(10), ' ')}\n")
    reports = (ROOT / "examples" / "health" / "demo-rollback.jsonl").read_text().splitlines()
    evil = json.loads(reports[0]) | {"nodeId": f"n{HOSTILE}", "version": f"1.4.2{HOSTILE}"}
    (base / f"h{HOSTILE}.jsonl").write_text("\n".join([*reports, json.dumps(evil)]) + "\n")
    return base


H = HOSTILE
IDS = f"ids{H}.txt"
HEALTH = f"h{H}.jsonl"
AT = ["--at", "2026-03-03T13:00:00Z"]
CHAIN = ["--rpc-url", DEAD_RPC + H, "--beacon", BEACON, "--timeout", "0.5"]

# Command path -> argument lists that reach its human output (or its error line).
WALK: dict[str, list[list[str]]] = {
    "tiers": [[], ["--check"]],
    "cohort": [
        ["node-1", f"n{H}"],
        ["--file", IDS],
        ["--file", IDS, "--summary"],
        ["--file", f"missing{H}"],
        [f"n{H}", "--tier", f"t{H}"],
    ],
    "version": [
        [f"n{H}", "--tier", "oracle", "--current", f"1.0.0{H}"],
        [f"n{H}", "--tier", "oracle", *CHAIN],
    ],
    "build": [["--all", "--dry-run"], ["--tier", f"t{H}", "--dry-run"]],
    "publish": [
        ["--tier", "oracle", "--version", f"1.4.0{H}", *CHAIN],
        ["--tier", f"t{H}", "--version", "1.4.0", *CHAIN],
    ],
    "rollout": [["status", "--tier", f"t{H}"]],
    "rollout status": [
        ["--tier", "oracle", *CHAIN],
        ["--tier", "oracle", "--health", HEALTH, *CHAIN],
    ],
    "rollback": [["check", "--health", f"missing{H}", "--version", "1"]],
    "rollback check": [
        ["--health", HEALTH, "--version", "1.4.2", *AT],
        ["--health", HEALTH, "--version", f"1.4.2{H}", *AT, "--format", "markdown"],
        ["--health", HEALTH, "--version", "1.4.2", *AT, "--columns", f"nodeId={H}"],
        ["--health", f"postgresql://u:p@127.0.0.1:9/db{H}", "--version", "1.4.2", *AT],
    ],
    "rollback propose": [
        ["--tier", "oracle", "--reason", f"r{H}", *CHAIN],
        ["--tier", f"t{H}", "--reason", "r", *CHAIN],
    ],
}

# What must never be in human output: ESC other than rich's colour sequences on a
# terminal, the override, a line the data started, markup obeyed (the text vanishes).
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def problems(text: str, *, terminal: bool) -> list[str]:
    found = []
    rest = _SGR.sub("", text) if terminal else text
    if "\x1b" in rest:
        found.append("a raw escape sequence")
    if "\u202e" in text:
        found.append("a raw U+202E")
    if re.search(r"^\s*FORGED", text, re.M):
        found.append("a line started by the data")
    if "FORGED" in text and "[bold]B" not in text.replace("\\[bold\\]", "[bold]"):
        found.append("markup obeyed")  # shown, but rich ate its [bold] (Markdown: \\[)
    return found


def run_piped(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NODERR_")}
    return subprocess.run(
        [sys.executable, "-m", "noderr_deploy", *argv],
        cwd=cwd,
        env={**environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=120,
        check=False,
    )


CASES = [(path, argv) for path, argvs in WALK.items() for argv in argvs]
IDS_OF = [f"{p}-{i}" for p, argvs in WALK.items() for i in range(len(argvs))]


def test_every_command_is_walked() -> None:
    assert {path for path, _ in PATHS} == set(WALK)


@pytest.mark.parametrize(("path", "argv"), CASES, ids=IDS_OF)
def test_piped_output_shows_hostile_text_escaped(
    path: str, argv: list[str], workspace: Path
) -> None:
    done = run_piped([*path.split(), *argv], workspace)
    shown = done.stdout + done.stderr
    assert shown, "the walk reached no output"
    assert "internal error" not in done.stderr, done.stderr
    assert problems(shown, terminal=False) == [], shown


# (command, arguments, whether the hostile text is shown: else it is refused unshown).
TERMINAL_CASES = [
    ("tiers", [], True),
    ("cohort", ["--file", IDS], True),
    ("cohort", ["--file", IDS, "--summary"], True),
    ("cohort", [f"n{H}"], True),
    ("build", ["--all", "--dry-run"], False),
    ("rollback check", ["--health", HEALTH, "--version", f"1.4.2{H}", *AT], True),
    ("rollback check", ["--health", f"missing{H}", "--version", "1.4.2"], True),
    ("rollback propose", ["--tier", "oracle", "--reason", f"r{H}", *CHAIN], False),
]


@pytest.mark.parametrize(
    ("path", "argv", "shown"), TERMINAL_CASES, ids=[p for p, _, _ in TERMINAL_CASES]
)
def test_terminal_output_shows_hostile_text_escaped(
    path: str, argv: list[str], shown: bool, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    _, screen = on_a_terminal(*path.split(), *argv)
    assert "internal error" not in screen, screen
    assert ("FORGED" in screen) == shown, screen  # shown escaped, or not at all
    assert problems(screen.replace("\r\n", "\n"), terminal=True) == [], screen
