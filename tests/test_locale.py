"""A real ISO-8859-1 locale: node ids are hashed from the bytes the shell passed, and human
output never fails on characters Latin-1 lacks (they are shown escaped), piped and on a
pseudo-terminal.

The locale is built for the test with ``localedef`` from Debian's ``locales`` sources
(``LOCPATH``: no root needed). Without them the tests skip on a developer's machine and
fail in CI (scripts/test installs ``locales``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.components import require
from tests.support.terminal import on_a_pty

REPO = Path(__file__).resolve().parents[1]
LOCALE = "en_US.ISO-8859-1"


@pytest.fixture(scope="module")
def latin1(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process under a real ISO-8859-1 locale."""
    localedef = shutil.which("localedef")
    if localedef is None:
        require("localedef", "install Debian's libc-bin and locales packages (scripts/test does)")
    locales = tmp_path_factory.mktemp("locales")
    done = subprocess.run(
        [localedef, "-i", "en_US", "-f", "ISO-8859-1", str(locales / LOCALE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if not (locales / LOCALE / "LC_CTYPE").exists():
        require(
            "the en_US locale sources",
            f"install Debian's locales package (localedef said: {done.stderr.strip()[-200:]})",
        )
    settings = {
        "LOCPATH": str(locales),
        "LC_ALL": LOCALE,
        "LANG": LOCALE,
        "PYTHONCOERCECLOCALE": "0",
        "PYTHONUTF8": "0",
        "PYTHONIOENCODING": "",
    }
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; print(sys.stdout.encoding, sys.getfilesystemencoding())",
        ],
        capture_output=True,
        text=True,
        env=environment(settings),
        check=True,
    )
    # The test means nothing unless Python really runs under Latin-1.
    assert check.stdout.split() == ["iso8859-1", "iso8859-1"], check.stdout
    return settings


def environment(settings: dict[str, str]) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NODERR_", "LC_", "PYTHONIO")) and k not in ("LANG", "LANGUAGE")
    }
    return {**base, "PYTHONPATH": str(REPO), **settings}


def noderr(
    settings: dict[str, str], *args: bytes | str, cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    """noderr piped, in ``cwd`` (no tiers.yaml there: no log line about one)."""
    return subprocess.run(
        [sys.executable, "-m", "noderr_deploy", *args],
        capture_output=True,
        cwd=cwd,
        env=environment(settings),
        timeout=60,
        check=False,
    )


def on_a_terminal(settings: dict[str, str], cwd: Path, *args: bytes | str) -> tuple[int, bytes]:
    """noderr with a pseudo-terminal as stdout and stderr: its exit code and the raw screen."""
    environ = {**environment(settings), "TERM": "xterm-256color", "COLUMNS": "160"}
    return on_a_pty([sys.executable, "-m", "noderr_deploy", *args], environ, cwd)


VALID_UTF8 = "nodé-✓-ā-1".encode()


def test_a_valid_utf8_argument_hashes_as_the_same_bytes_from_a_file(
    latin1: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "ids.txt").write_bytes(VALID_UTF8 + b"\n")
    by_argument = noderr(latin1, "cohort", VALID_UTF8, "--format", "csv", cwd=tmp_path)
    by_file = noderr(latin1, "cohort", "-f", "ids.txt", "--format", "csv", cwd=tmp_path)
    assert by_argument.returncode == by_file.returncode == 0, by_argument.stderr
    assert by_argument.stdout == by_file.stdout
    # The CSV carries the id's exact bytes (UTF-8, not the locale's reading of them).
    assert by_argument.stdout.splitlines()[1].startswith(VALID_UTF8 + b",")
    as_json = noderr(latin1, "cohort", VALID_UTF8, "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    assert VALID_UTF8 in as_json.stdout


@pytest.mark.parametrize(
    "raw",
    [
        b"nod\xe9-1",  # Latin-1 bytes of "nodé-1", as a Latin-1 terminal passes them
        b"node-\xff\xfe",  # bytes invalid in UTF-8 and meaningless in Latin-1 too
        b"\xc3(",  # a cut UTF-8 sequence
    ],
)
def test_bytes_that_are_not_utf8_are_refused_alike_as_argument_and_in_a_file(
    latin1: dict[str, str], tmp_path: Path, raw: bytes
) -> None:
    # The engine hashes the UTF-8 of a string: bytes that are not UTF-8 are no node id,
    # whichever way they come, and the refusal is one error line, exit 2.
    (tmp_path / "ids.txt").write_bytes(raw + b"\n")
    by_argument = noderr(latin1, "cohort", raw, "--format", "csv", cwd=tmp_path)
    by_file = noderr(latin1, "cohort", "-f", "ids.txt", "--format", "csv", cwd=tmp_path)
    for result in (by_argument, by_file):
        assert result.returncode == 2, result.stderr
        assert result.stdout == b""
        assert result.stderr.count(b"\n") == 1
        assert result.stderr.startswith(b"error: ")
        assert b"UTF-8" in result.stderr
    assert b"ids.txt:1" in by_file.stderr


# Characters ISO-8859-1 lacks: a Latin Extended letter, an emoji, a bidi override.
FOREIGN = "nōde-ā-😀-\u202eexe.txt"
ESCAPED = [b"\\u014d", b"\\u0101", b"\\U0001f600", b"\\u202e"]


def shown_safely(output: bytes) -> bool:
    """Latin-1 text with no control byte but line ends and rich's colours (SGR)."""
    rest = re.sub(rb"\x1b\[[0-9;]*m", b"", output)
    return not re.search(rb"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]", rest)


def test_piped_human_output_escapes_what_latin1_lacks(
    latin1: dict[str, str], tmp_path: Path
) -> None:
    result = noderr(
        latin1, "cohort", FOREIGN, "--published-at", "2026-03-01T12:00:00Z", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    for escape in ESCAPED:
        assert escape in result.stdout
    assert "\u202e".encode() not in result.stdout
    result.stdout.decode("iso-8859-1")  # what the terminal gets is Latin-1 text
    assert shown_safely(result.stdout)
    # An error line that quotes a file name is one safe line too. A file name is the
    # locale's reading of its bytes (as ls shows it): under Latin-1 the UTF-8 of "ō" is
    # "\xc5\x8d", so "\x8d" (a C1 control there) is what must come out escaped.
    missing = noderr(latin1, "cohort", "--file", f"{FOREIGN}.txt", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith(b"error: ")
    assert missing.stderr.count(b"\n") == 1
    assert b"n\xc5\\x8dde" in missing.stderr
    assert shown_safely(missing.stderr)
    # JSON keeps the exact string (UTF-8 bytes, whatever the locale).
    document = noderr(latin1, "cohort", FOREIGN, "--json", cwd=tmp_path)
    assert document.returncode == 0, document.stderr
    assert FOREIGN.encode() in document.stdout


def test_a_latin1_terminal_shows_what_it_lacks_escaped(
    latin1: dict[str, str], tmp_path: Path
) -> None:
    code, screen = on_a_terminal(latin1, tmp_path, "cohort", FOREIGN)
    assert code == 0, screen
    for escape in ESCAPED:
        assert escape in screen
    assert shown_safely(screen)
    code, screen = on_a_terminal(latin1, tmp_path, "cohort", "--file", f"{FOREIGN}.txt")
    assert code == 2, screen
    assert b"error: " in screen
    assert b"n\xc5\\x8dde" in screen
    assert shown_safely(screen)


@pytest.mark.parametrize(
    "args",
    [["--json"], ["--format", "jsonl"], ["--format", "csv"], ["--summary", "--format", "jsonl"]],
)
def test_machine_output_is_utf8_even_for_what_latin1_can_hold(
    latin1: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    # A hostile review: "café" fits Latin-1, so the JSON of one id came out as byte 0xe9.
    for ids in (["café".encode()], ["café".encode(), b"x"]):  # one id, and a batch
        done = noderr(latin1, "cohort", *ids, *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        done.stdout.decode("utf-8")  # raises if any byte is not UTF-8
        if "--summary" not in args:
            assert "café".encode() in done.stdout
