"""Reading tiers.yaml: one reader (config.yamlpos) for the fast section readers, the full
validator and so for every command. A UTF-16/32 file gets a hint, a byte that is not UTF-8
a file:line:column, a YAML merge key (``<<``) one error in our words, the same whichever
path reads the file."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from noderr_deploy.config.schema import load_config
from noderr_deploy.config.sections import read_rollout, read_settings
from noderr_deploy.config.yamlpos import MERGE_KEYS_REFUSED, wide_encoding_hint
from noderr_deploy.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TIERS = (ROOT / "tiers.yaml").read_text()


def message(read: object, path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        read(path)  # type: ignore[operator]
    return caught.value.message


READERS = {"full": load_config, "fast": read_settings, "rollout": read_rollout}


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-32", "UTF-32")],
)
@pytest.mark.parametrize("reader", READERS)
def test_a_utf16_or_utf32_file_gets_a_hint_from_every_reader(
    encoding: str, name: str, reader: str, tmp_path: Path
) -> None:
    path = tmp_path / "tiers.yaml"
    bom = b"" if encoding in ("utf-16", "utf-32") else codecs.BOM_UTF16_BE
    if encoding == "utf-16-le":
        bom = codecs.BOM_UTF16_LE
    path.write_bytes(bom + TIERS.encode(encoding))
    assert message(READERS[reader], path) == (
        f"{path}: cannot read: the file is {name} (it starts with a {name} byte order mark);"
        f" save it as UTF-8 (iconv -f {name} -t UTF-8)"
    )


def test_the_hint_needs_the_mark_at_the_start() -> None:
    assert wide_encoding_hint(codecs.BOM_UTF32_LE + b"x") is not None
    assert "UTF-32" in (wide_encoding_hint(codecs.BOM_UTF32_LE) or "")  # not read as UTF-16
    assert wide_encoding_hint(b"a" + codecs.BOM_UTF16_LE) is None
    assert wide_encoding_hint(codecs.BOM_UTF8 + b"tiers: {}") is None  # UTF-8's mark is fine


@pytest.mark.parametrize("reader", READERS)
def test_a_byte_that_is_not_utf8_is_named_with_its_line_and_column(
    reader: str, tmp_path: Path
) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_bytes(b"# caf\xc3\xa9\nimage: x\xff\n" + TIERS.encode())
    assert message(READERS[reader], path) == (
        f"{path}:2:9: cannot read: byte 0xff is not UTF-8 (save the file as UTF-8)"
    )


MERGES = {
    "rollout flow": ("base: &b {canary_percentage: 5}\nrollout: {<<: *b}\n", 2, 11),
    "rollout block": (
        "base: &b\n  canary_percentage: 5\nrollout:\n  cohort_percentage: 10\n  <<: *b\n",
        5,
        3,
    ),
    "top level": ("base: &b {image: x}\n<<: *b\n", 2, 1),
    "rollback list": ("rollback:\n  <<: [{min_nodes: 2}]\n", 2, 3),
}


@pytest.mark.parametrize("case", MERGES)
@pytest.mark.parametrize("reader", READERS)
def test_a_merge_key_is_one_error_in_our_words(reader: str, case: str, tmp_path: Path) -> None:
    text, line, column = MERGES[case]
    path = tmp_path / "tiers.yaml"
    path.write_text(text + _tiers_only())
    found = message(READERS[reader], path)
    assert found == f"{path}:{line}:{column}: {MERGE_KEYS_REFUSED}"
    assert "constructor" not in found and "tag:yaml.org" not in found


def _tiers_only() -> str:
    return "tiers:\n  all: {beacon_tier: 0, size_budget: 500MB}\n"


def test_a_quoted_double_angle_is_an_ordinary_key(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text('rollout: {"<<": 5}\n' + _tiers_only())
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.details == [f"{path}:1:11: rollout.<<: unknown key"]


# Every command that reads tiers.yaml, with what it needs besides the file.
COMMANDS = [
    ["tiers"],
    ["tiers", "--check", "--json"],
    ["cohort", "node-1"],
    ["cohort", "--summary", "node-1", "node-2"],
    ["build", "--all", "--dry-run"],
    ["version", "node-1", "--tier", "oracle", "--current", "1.0.0"],
    ["rollout", "status", "--tier", "oracle"],
    ["rollback", "check", "--tier", "oracle", "--health", "missing.jsonl"],
    ["rollback", "propose", "--tier", "oracle", "--reason", "r"],
    ["publish", "--tier", "oracle", "--version", "1.4.0"],
]


def _files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_bytes(TIERS.encode("utf-16"))
    merge = tmp_path / "merge.yaml"
    merge.write_text("base: &b {canary_percentage: 5}\nrollout: {<<: *b}\n" + _tiers_only())
    return {
        "utf16": (
            utf16,
            f"error: {utf16}: cannot read: the file is UTF-16 (it starts with a UTF-16 byte"
            " order mark); save it as UTF-8 (iconv -f UTF-16 -t UTF-8)\n",
        ),
        "merge": (merge, f"error: {merge}:2:11: {MERGE_KEYS_REFUSED}\n"),
    }


@pytest.mark.parametrize("kind", ["utf16", "merge"])
@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_every_command_that_reads_the_file_says_the_same(
    argv: list[str], kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path, expected = _files(tmp_path)[kind]
    env = {"NODERR_RPC_URL": None, "NODERR_BEACON_ADDRESS": None, "NODERR_CONFIG": None}
    result = CliRunner().invoke(app, [*argv, "--config", str(path)], env=env)
    assert (result.exit_code, result.stderr) == (2, expected), result.output
