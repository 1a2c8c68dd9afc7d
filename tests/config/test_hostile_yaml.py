"""tiers.yaml written to hurt: each is one `error:` line and exit 2 within a second, never a
hang, a memory blow-up, a crash of the C parser or a number read as another."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app

TIERS = "tiers: {all: {beacon_tier: 0, size_budget: 500MB}}\n"


def bomb(levels: int) -> str:
    lines = ["a0: &a0 [x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


HOSTILE = {
    "flow nesting": "labels: " + "[" * 100_000 + "]" * 100_000 + "\n" + TIERS,
    "mapping nesting": "rollout: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n" + TIERS,
    "alias bomb": bomb(10) + TIERS,
    "alias bomb in a section": "rollout: " + bomb(9).replace("\n", " ") + "\n" + TIERS,
    "5000-digit integer": "rollout: {canary_percentage: 1" + "0" * 5000 + "}\n" + TIERS,
    "hex": "rollout: {cohort_percentage: 0x19}\n" + TIERS,
    "sexagesimal": "rollout: {cohort_delay_hours: 1:00}\n" + TIERS,
}


@pytest.mark.parametrize("command", [["tiers", "--check"], ["cohort", "node-1"]])
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_yaml_is_one_error_line(name: str, command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(HOSTILE[name])
    start = time.monotonic()
    result = CliRunner().invoke(app, [*command, "-c", str(path)])
    assert time.monotonic() - start < 5  # within a second here; slack for a loaded machine
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith(f"error: {path}")
    assert "internal error" not in result.stderr


def test_a_leading_zero_is_an_error_never_another_number(tmp_path: Path) -> None:
    # YAML 1.1 reads 010 as octal 8, YAML 1.2 as 10: the plan would silently move buckets.
    # The one parser keeps it as text, and text where a number belongs is an error (README).
    path = tmp_path / "tiers.yaml"
    path.write_text("rollout: {canary_percentage: 010, cohort_percentage: +20}\n" + TIERS)
    result = CliRunner().invoke(app, ["cohort", "node-1", "-c", str(path)])
    assert result.exit_code == 2, result.stderr
    assert f"{path}:1:30: rollout.canary_percentage: expected a number, not the text '010'" in (
        result.stderr
    )
    path.write_text("rollout: {canary_percentage: 10, cohort_percentage: +20}\n" + TIERS)
    result = CliRunner().invoke(app, ["cohort", "node-1", "-c", str(path)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("plan 10/20/24 ")  # a sign is decimal in YAML 1.1 and 1.2


def chain(length: int) -> str:
    tiers = ["tiers:", "  t0: {beacon_tier: 0, size_budget: 500MB}"]
    tiers += [f"  t{i}: {{extends: t{i - 1}}}" for i in range(1, length)]
    return "\n".join(tiers) + "\n"


@pytest.mark.parametrize("order", ["parents first", "children first"])
def test_an_extends_chain_1000_long_is_exit_2_within_a_second(order: str, tmp_path: Path) -> None:
    # Issue 14 (a hostile review found it accepted after 6.7 s): one error at the tier where
    # the chain passes the bound, whatever order the tiers are written in.
    lines = chain(1000).splitlines()
    body = [lines[0], *(lines[1:] if order == "parents first" else reversed(lines[1:]))]
    path = tmp_path / "tiers.yaml"
    path.write_text("\n".join(body) + "\n")
    start = time.monotonic()
    result = CliRunner().invoke(app, ["tiers", "--check", "-c", str(path)])
    assert time.monotonic() - start < 1.0
    assert result.exit_code == 2, result.output
    assert "is longer than 64 tiers" in result.stderr
    assert result.stderr.count("extends chain") == 1


def test_an_extends_chain_of_64_is_a_configuration(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(chain(65))  # t64 has 64 tiers above it
    result = CliRunner().invoke(app, ["tiers", "--json", "-c", str(path)])
    assert "extends chain" not in result.stderr


@pytest.mark.parametrize("text", ["0x5", "0o7", "0b1", "1e3", "'7'", "1_0"])
@pytest.mark.parametrize("command", [["tiers", "--check"], ["cohort", "node-1"]])
def test_number_looking_text_is_said_to_be_text(
    tmp_path: Path, text: str, command: list[str]
) -> None:
    # YAML versions differ on hex, octal, binary and dotless exponents; the one parser
    # keeps them as text. Both paths say so at the value's position, not pydantic's
    # "unable to parse string as an integer".
    path = tmp_path / "tiers.yaml"
    path.write_text(f"rollout: {{canary_percentage: {text}}}\n" + TIERS)
    result = CliRunner().invoke(app, [*command, "-c", str(path)])
    assert result.exit_code == 2, result.stderr
    shown = text.strip("'")
    assert f"{path}:1:30: rollout.canary_percentage: expected a number, not the text {shown!r}" in (
        result.stderr
    )


@pytest.mark.parametrize(
    "tiers",
    [
        'tiers:\n  all: {beacon_tier: 0, size_budget: 1GB, dockerfile: "docker\\0files/D"}\n',
        'workspace: "examples\\0/workspace"\ntiers:\n  all: {beacon_tier: 0, size_budget: 1GB}\n',
        'tiers:\n  "a\\0b": {beacon_tier: 0, size_budget: 1GB}\n',
        'registry: "r\\0"\ntiers:\n  all: {beacon_tier: 0, size_budget: 1GB}\n',
    ],
)
@pytest.mark.parametrize(
    "command", [["tiers"], ["tiers", "--check"], ["build", "--all", "--dry-run"], ["cohort", "n"]]
)
def test_a_nul_character_is_one_error_at_its_place(
    tmp_path: Path, tiers: str, command: list[str]
) -> None:
    # A hostile review: "embedded null byte" reached the internal-error handler.
    path = tmp_path / "tiers.yaml"
    path.write_text(tiers)
    result = CliRunner().invoke(app, [*command, "-c", str(path)])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {path}:"), result.stderr
    assert "NUL character" in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize(("raw", "where"), [("\x00", "2:23"), ("\x07", "2:23"), ("\x1b", "2:23")])
@pytest.mark.parametrize("command", [["tiers", "--check"], ["cohort", "node-1"]])
def test_a_raw_control_character_is_placed_where_it_stands(
    tmp_path: Path, raw: str, where: str, command: list[str]
) -> None:
    # Review round 2: PyYAML refuses the whole stream and placed it at 1:1.
    path = tmp_path / "tiers.yaml"
    path.write_text(f"rollout:\n  canary_percentage: 5{raw}\n" + TIERS)
    result = CliRunner().invoke(app, [*command, "-c", str(path)])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {path}:{where}: cannot read: the character"), (
        result.stderr
    )
    assert raw not in result.stderr


@pytest.mark.parametrize("brk", ["\x85", "\u2028", "\u2029"])
@pytest.mark.parametrize("command", [["tiers", "--check"], ["cohort", "node-1"]])
def test_a_line_break_no_editor_shows_is_refused(
    tmp_path: Path, brk: str, command: list[str]
) -> None:
    # Review round 3: YAML breaks lines at NEL, so text after one in a comment was read
    # as configuration, while every editor and grep showed one comment line.
    path = tmp_path / "tiers.yaml"
    path.write_text(f"# was: health columns{brk}health: {{columns: {{cpu: load}}}}\n" + TIERS)
    result = CliRunner().invoke(app, [*command, "-c", str(path)])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {path}:1:22: cannot read: the character"), (
        result.stderr
    )


def test_the_column_after_a_bom_counts_characters_a_person_sees(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_bytes(b"\xef\xbb\xbfregistry: gh\x02cr.io/x\n" + TIERS.encode())
    result = CliRunner().invoke(app, ["tiers", "--check", "-c", str(path)])
    assert result.stderr.startswith(f"error: {path}:1:13: cannot read"), result.stderr


def test_a_child_of_an_invalid_tier_is_not_told_its_parent_is_unknown(tmp_path: Path) -> None:
    # Review round 3: "unknown parent tier 'oracle' (known tiers: all, oracle, guardian)".
    path = tmp_path / "tiers.yaml"
    path.write_text(
        "tiers:\n  all: {beacon_tier: 0, size_budget: 1GB}\n"
        "  oracle: {extends: all, beacon_tier: 2, packages: [7]}\n"
        "  guardian: {extends: oracle, beacon_tier: 1}\n"
    )
    result = CliRunner().invoke(app, ["tiers", "--check", "-c", str(path)])
    assert result.exit_code == 2
    assert "tiers.oracle.packages.0" in result.stderr
    assert "unknown parent" not in result.stderr
