"""The remembered rollout plan: used only for the exact bytes it was read from, never
trusted more than the file, never holding anything but the plan's numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noderr_deploy.config.plancache import HEADER, remembered_rollout
from noderr_deploy.config.sections import rollout_of_bytes
from noderr_deploy.environment import Environment
from noderr_deploy.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

TIERS = """\
image: noderr-node-os
registry: ghcr.io/noderrxyz
beacon: {rpc_url: "https://user:hunter2@rpc.example/v3/SECRETKEY"}
rollout:
  canary_percentage: 7
  cohort_delay_hours: 12
tiers:
  all: {beacon_tier: 0, packages: [core]}
"""


class Reads:
    """rollout_of_bytes, counting its calls: a call is a parse of the file."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path: Path, raw: bytes) -> tuple[dict[str, int | float], bool]:
        self.calls += 1
        return rollout_of_bytes(path, raw)


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "plans").iterdir())


def test_the_same_bytes_are_read_once_and_any_change_is_seen(tmp_path: Path) -> None:
    tiers, cache, reads = tmp_path / "tiers.yaml", tmp_path / "cache", Reads()
    tiers.write_text(TIERS)
    first = remembered_rollout(tiers, cache, reads)
    assert first == {"canary_percentage": 7, "cohort_delay_hours": 12.0}
    assert remembered_rollout(tiers, cache, reads) == first
    assert reads.calls == 1
    # One byte changed, same size and same modification time: read again.
    stat = tiers.stat()
    tiers.write_text(TIERS.replace("canary_percentage: 7", "canary_percentage: 8"))
    import os

    os.utime(tiers, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert remembered_rollout(tiers, cache, reads)["canary_percentage"] == 8
    assert reads.calls == 2
    assert len(entries(cache)) == 1  # one entry per tiers.yaml path, replaced


def test_an_entry_holds_the_plan_and_nothing_else_of_the_file(tmp_path: Path) -> None:
    tiers, cache = tmp_path / "tiers.yaml", tmp_path / "cache"
    tiers.write_text(TIERS)
    remembered_rollout(tiers, cache, rollout_of_bytes)
    (entry,) = entries(cache)
    lines = entry.read_text().splitlines()
    assert lines[0] == HEADER
    assert lines[1].startswith("source=") and len(lines[1]) == len("source=") + 64
    assert lines[2:] == ["canary_percentage=7", "cohort_delay_hours=12.0"]
    for secret in ("hunter2", "SECRETKEY", "ghcr", "rpc"):
        assert secret not in entry.read_text()


def test_a_file_with_a_problem_is_never_remembered(tmp_path: Path) -> None:
    tiers, cache, reads = tmp_path / "tiers.yaml", tmp_path / "cache", Reads()
    tiers.write_text(TIERS.replace("canary_percentage: 7", "canary_percentage: 700"))
    for _ in range(2):
        with pytest.raises(ConfigError) as raised:
            remembered_rollout(tiers, cache, reads)
        assert "canary_percentage" in " ".join([str(raised.value), *raised.value.details])
    assert reads.calls == 2
    assert not (cache / "plans").exists() or not entries(cache)


def test_a_cache_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    tiers = tmp_path / "tiers.yaml"
    tiers.write_text(TIERS)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for cache in (blocker, blocker / "below", None):
        assert remembered_rollout(tiers, cache, rollout_of_bytes)["canary_percentage"] == 7


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.sampled_from(
                [
                    "canary_percentage=5",
                    "canary_percentage=101",
                    "canary_percentage=-1",
                    "canary_percentage=05",
                    "canary_percentage=５",
                    "cohort_percentage=25",
                    "cohort_percentage=25",
                    "cohort_delay_hours=24.0",
                    "cohort_delay_hours=24",
                    "cohort_delay_hours=nan",
                    "cohort_delay_hours=1e400",
                    "registry=evil",
                    "",
                ]
            ),
            max_size=5,
        ).map(lambda lines: "\n".join(lines) + "\n"),
    )
)
def test_a_damaged_entry_is_ignored_and_replaced(tmp_path: Path, body: bytes | str) -> None:
    tiers, cache = tmp_path / "tiers.yaml", tmp_path / "cache"
    tiers.write_text(TIERS)
    remembered_rollout(tiers, cache, rollout_of_bytes)
    (entry,) = entries(cache)
    head = "\n".join(entry.read_text().splitlines()[:2]) + "\n"
    entry.write_bytes(head.encode() + (body if isinstance(body, bytes) else body.encode()))
    values = remembered_rollout(tiers, cache, rollout_of_bytes)
    # Either exactly a valid plan the entry spelled in the canonical form, or the file's.
    expected = {"canary_percentage": 7, "cohort_delay_hours": 12.0}
    if values != expected:
        assert set(values) <= {"canary_percentage", "cohort_percentage", "cohort_delay_hours"}
        assert all(
            type(v) is (float if k == "cohort_delay_hours" else int) for k, v in values.items()
        )
        assert 0 <= values.get("canary_percentage", 5) <= 100
        assert 0 <= values.get("cohort_percentage", 25) <= 100


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"NODERR_CACHE_DIR": "/c", "HOME": "/h"}, "/c"),
        ({"NODERR_CACHE_DIR": "", "HOME": "/h"}, None),
        ({"NODERR_CACHE_DIR": "rel", "HOME": "/h"}, None),
        ({"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/noderr-deploy"),
        ({"XDG_CACHE_HOME": "rel", "HOME": "/h"}, "/h/.cache/noderr-deploy"),
        ({"HOME": "/h"}, "/h/.cache/noderr-deploy"),
        ({}, None),
    ],
)
def test_where_the_cache_is(environ: dict[str, str], expected: str | None) -> None:
    env = Environment(sys.stdout, sys.stderr, None, environ)
    assert env.cache_dir() == (None if expected is None else Path(expected))


def test_a_remembered_plan_starts_cohort_without_the_yaml_parser(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from noderr_deploy.cli import app\n"
        "try:\n    app(args=['cohort', 'node-1'], prog_name='noderr')\nexcept SystemExit:\n"
        "    pass\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & set(sys.argv[1:])), file=sys.stderr)\n"
    )
    # What the start-up figure of benchmarks/startup.py relies on (issue 18).
    unwanted = ["yaml", "json", "csv", "decimal", "msgspec", "pydantic", "rich"]
    env = {"PYTHONPATH": str(REPO), "PATH": "", "NODERR_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, *unwanted],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for _ in range(2)
    ]
    plan = f"plan 5/25/24 (canary/cohort %/delay h) from {REPO / 'tiers.yaml'}\n"
    assert runs[0].stdout == runs[1].stdout == "node id  bucket  cohort\nnode-1   63      cohort3\n"
    assert runs[0].stderr.startswith(plan) and "yaml" in runs[0].stderr  # read, then kept
    assert runs[1].stderr == plan + "[]\n"


def test_what_is_remembered_is_what_was_hashed_however_the_file_changes(tmp_path: Path) -> None:
    # A writer replacing the file between the read and the parse (a hostile review made a
    # stale plan stick this way, with a file flipped every 15 ms).
    tiers, cache = tmp_path / "tiers.yaml", tmp_path / "cache"
    tiers.write_text(TIERS)
    other = TIERS.replace("canary_percentage: 7", "canary_percentage: 70")

    def racing(path: Path, raw: bytes) -> tuple[dict[str, int | float], bool]:
        path.write_text(other)
        return rollout_of_bytes(path, raw)

    assert remembered_rollout(tiers, cache, racing)["canary_percentage"] == 7
    assert remembered_rollout(tiers, cache, rollout_of_bytes)["canary_percentage"] == 70
    tiers.write_text(TIERS)
    assert remembered_rollout(tiers, cache, rollout_of_bytes)["canary_percentage"] == 7


def test_an_entry_that_is_not_a_regular_file_is_ignored(tmp_path: Path) -> None:
    import os

    tiers, cache = tmp_path / "tiers.yaml", tmp_path / "cache"
    tiers.write_text(TIERS)
    remembered_rollout(tiers, cache, rollout_of_bytes)
    (entry,) = entries(cache)
    entry.unlink()
    os.mkfifo(entry)  # opened for reading, a FIFO with no writer would block for ever
    assert remembered_rollout(tiers, cache, rollout_of_bytes)["canary_percentage"] == 7
