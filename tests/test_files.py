"""What a command writes when asked to (``--out``, ``--metadata-file``): as the shell's
``>`` would, and never half a file; a device or a FIFO is written into, not replaced
(a hostile review found ``--out /dev/full`` replacing the device with a regular file)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from noderr_deploy.errors import NoderrError
from noderr_deploy.files import write_text

REPO = Path(__file__).resolve().parents[1]


def test_a_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_text(tmp_path / "new.json", "{}\n", flag="--out")
    finally:
        os.umask(old)
    assert (tmp_path / "new.json").read_text() == "{}\n"
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["new.json"]  # no temporary left


def test_a_link_keeps_its_place_and_its_target_gets_the_text(tmp_path: Path) -> None:
    target = tmp_path / "target.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_text(link, "new", flag="--out")
    assert link.is_symlink() and target.read_text() == "new"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "made.json")
    write_text(dangling, "made", flag="--out")
    assert dangling.is_symlink() and (tmp_path / "made.json").read_text() == "made"


def test_a_fifo_is_written_into(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_text(fifo, "through\n", flag="--out")
    reader.join(5)
    assert got == [b"through\n"] and stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="Linux only")
def test_a_full_device_is_one_error_and_stays_a_device() -> None:
    with pytest.raises(NoderrError, match=r"^--out /dev/full: cannot write: No space left"):
        write_text(Path("/dev/full"), "x" * 10, flag="--out")
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)
    result = CliRunner().invoke(
        app,
        ["build", "--dry-run", "--config", str(REPO / "tiers.yaml"), "--tier", "all",
         "--metadata-file", "/dev/full", "--version", "1.0.0"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "error: --metadata-file /dev/full: cannot write: No space left on device" in (
        result.stderr
    )
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)


def test_a_replaced_file_gets_the_umask_mode_and_no_temporary_stays(tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    target.write_text("old")
    old = os.umask(0o027)
    try:
        write_text(target, "new\n", flag="--out")
    finally:
        os.umask(old)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


def test_a_missing_directory_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(NoderrError, match=r"--out .*: cannot write: No such file or directory"):
        write_text(tmp_path / "nope" / "p.json", "x", flag="--out")


def test_a_fifo_with_no_reader_is_one_error_never_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NoderrError, match=r"^--out .*fifo: cannot write: No such device"):
        write_text(fifo, "x", flag="--out")
