"""Worker processes never outlive a read: killed with their parent (SIGKILL included),
reaped when the read ends; and finding split points stays linear in the file's size."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest

from noderr_deploy.cohorts import RolloutPlan
from noderr_deploy.health.read import read_folded, read_latest
from noderr_deploy.health.segments import split_points
from noderr_deploy.health.sizes import DEFAULT_SIZES, ReadSizes
from noderr_deploy.rollback import CohortTally
from tests.health_data import T0, export, jsonl, record

REPO = Path(__file__).resolve().parents[2]

HOLD = textwrap.dedent(
    """
    import multiprocessing, sys, time
    from noderr_deploy.health.read import read_folded, read_latest
    from noderr_deploy.health.sizes import ReadSizes
    from tests.health.test_processes import Fold

    def hold():
        # The workers are reading (or waiting): say who they are, then wait to be killed.
        print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        time.sleep(60)

    sizes = ReadSizes(parallel_min=1, segment=20_000, chunk=3000)
    options = dict(workers=3, skip_invalid=True, sizes=sizes, while_reading=hold)
    if sys.argv[2] == "read_folded":
        read_folded([sys.argv[1]], Fold, **options)
    else:
        read_latest([sys.argv[1]], **options)
    """
)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.split(") ")[1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("function", ["read_latest", "read_folded"])
def test_workers_die_within_a_second_of_a_sigkill_of_their_parent(
    tmp_path: Path, function: str
) -> None:
    path = export(tmp_path / "h.jsonl", count=20_000, nodes=2000)
    parent = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), function],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2
        assert all(_alive(pid) for pid in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 1.0
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not any(_alive(pid) for pid in workers)
    finally:
        parent.kill()
        parent.wait()


class Fold:
    """A fold that counts nodes (for the script above: picklable, importable)."""

    def __init__(self) -> None:
        self.nodes = 0

    def prepare(self, nodes: object) -> None:
        pass

    def add(self, latest: dict[str, object]) -> None:
        self.nodes += len(latest)

    def combine(self, other: Fold) -> None:
        self.nodes += other.nodes


def _children() -> set[int]:
    """This process's child processes, zombies included (an unreaped child is one)."""
    mine = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().split(") ")[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == mine:
                found.add(int(entry.name))
    return found


@pytest.mark.parametrize("fold", [False, True])
def test_every_worker_is_reaped_when_the_read_returns(tmp_path: Path, fold: bool) -> None:
    path = export(tmp_path / "h.jsonl", count=20_000, nodes=2000)
    before = _children()
    sizes = ReadSizes(parallel_min=1, segment=20_000, chunk=3000)
    if fold:
        result = read_folded([path], Fold, workers=3, skip_invalid=True, sizes=sizes)
        assert result.fold.nodes == result.nodes == 2000
    else:
        read_latest([path], workers=3, skip_invalid=True, sizes=sizes)
    assert _children() == before


def test_every_worker_is_reaped_when_the_read_fails(tmp_path: Path) -> None:
    path = export(tmp_path / "h.jsonl", count=20_000, nodes=2000)
    before = _children()
    sizes = ReadSizes(parallel_min=1, segment=20_000, chunk=3000)
    with pytest.raises(Exception, match="malformed"):
        read_folded([path], Fold, workers=3, sizes=sizes)

    def fail() -> None:
        raise RuntimeError("settings failed while the workers read")

    with pytest.raises(RuntimeError):
        read_latest([path], workers=3, sizes=sizes, while_reading=fail)
    assert _children() == before


# -- split points ------------------------------------------------------------------------------


class Counting:
    """Counts the bytes ``split_points`` reads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read = 0
        real = Path.open

        def opened(path: Path, *args: object, **kwargs: object) -> object:
            stream = real(path, *args, **kwargs)  # type: ignore[arg-type]
            inner = stream.read

            def read(size: int = -1) -> bytes:
                data: bytes = inner(size)
                self.read += len(data)
                return data

            stream.read = read  # type: ignore[method-assign]
            return stream

        monkeypatch.setattr(Path, "open", opened)


@pytest.mark.parametrize("lines", [1, 3])
def test_split_points_read_a_file_of_long_lines_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: int
) -> None:
    line = json.dumps(record("long", padding="x" * (8 << 20))).encode() + b"\n"
    path = tmp_path / "h.jsonl"
    path.write_bytes(line * lines)
    size = path.stat().st_size
    counting = Counting(monkeypatch)
    points = split_points(path, size, 64)
    assert points == [len(line) * k for k in range(lines + 1)]
    # Once over the file, plus at most one block per cut (it was 64 reads of each line).
    assert counting.read <= size + 64 * (1 << 16)


def test_a_file_of_one_long_line_is_read_serially_and_right(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(jsonl(record("long", padding="x" * (4 << 20))))
    sizes = ReadSizes(parallel_min=1, segment=1 << 16)
    result = read_latest([path], workers=2, sizes=sizes)
    assert list(result.latest) == ["long"]


# -- a real file past the default threshold ----------------------------------------------------


def test_a_file_past_the_default_threshold_is_shared_and_reads_as_one_process_does(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.jsonl"
    docs: list[dict[str, object] | str] = [
        record(f"n{i % 5000}", uptime=i, timestamp=1793534400 + (i * 7919) % 600)
        for i in range(60_000)
    ]
    docs[100] = "garbage"
    docs[50_000] = json.dumps(record("n7", timestamp="2099-01-01T00:00:00Z"))  # future
    data = jsonl(*docs)
    pad = json.dumps(record("pad")).encode() + b"\n"
    data += pad * (-(-(DEFAULT_SIZES.parallel_min + 1 - len(data)) // len(pad)))
    path.write_bytes(data)
    assert path.stat().st_size > DEFAULT_SIZES.parallel_min
    horizon = T0 + timedelta(minutes=10)
    plan = RolloutPlan()

    def tally() -> CohortTally:
        return CohortTally.for_plan(plan, "1.0.0", T0)

    one = read_folded([path], tally, workers=1, skip_invalid=True, horizon=horizon)
    two = read_folded([path], tally, workers=2, skip_invalid=True, horizon=horizon)
    assert one.fold == two.fold
    assert (one.records, one.nodes, one.future) == (two.records, two.nodes, two.future)
    assert one.future == 1
    assert (
        one.problems.lines()
        == two.problems.lines()
        == [f"{path}:101: bad JSON: invalid character (byte 1)"]
    )
